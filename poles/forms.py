"""Optimistic concurrency for the admin's forms: a form carries the version
(updated_at) its record had when the page was opened, and refuses to write
over a change saved since by another editor, a bulk action or an import.

The check reads the record's current version with SELECT … FOR UPDATE inside
the admin's transaction (PostgreSQL; SQLite serialises writers anyway), so no
save can slip in between the check and the write.
"""
import datetime

from django import forms
from django.db import connections, router
from django.forms.models import model_to_dict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

VERSION_FIELD = "opened_version"
IMPORT_REASON = "Import de tableur"  # the change reason of poles.resources.BulkSaveMixin's versions


class VersionInput(forms.HiddenInput):
    """A hidden input whose admin row label points nowhere: a label may not name a hidden input."""

    def id_for_label(self, id_):
        return None


def current_version(instance, lock):
    """The record's updated_at as stored now (None if deleted), locked until the transaction ends."""
    manager = type(instance)._base_manager
    alias = router.db_for_write(type(instance))
    queryset = manager.using(alias).filter(pk=instance.pk)
    if lock and connections[alias].in_atomic_block:
        queryset = queryset.select_for_update()
    return queryset.values_list("updated_at", flat=True).first()


def parse_version(value):
    try:
        return datetime.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def changed_by(instance, when):
    """"par X le JJ/MM/AAAA à HH:MM": who made the record's latest version, when known."""
    latest = type(instance).history.filter(id=instance.pk).order_by("-history_date", "-history_id").first()
    date = timezone.localtime(when).strftime("%d/%m/%Y à %H:%M")
    who = None
    if latest is not None and latest.history_change_reason == IMPORT_REASON:
        who = _("un import de tableur")
    elif latest is not None and latest.history_user is not None:
        who = latest.history_user.get_full_name() or latest.history_user.get_username()
    if who:
        return _("par %(who)s le %(date)s") % {"who": who, "date": date}
    return _("le %(date)s") % {"date": date}


class VersionedModelForm(forms.ModelForm):
    """The admin form of a content record (the main form: the admin saves it even
    when untouched, so a record changed since the page was opened is always refused)."""

    refuse_untouched = True
    opened_version = forms.CharField(label=gettext_lazy("version ouverte"), required=False, widget=VersionInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.version_conflict = None
        if self.instance.pk is None:
            return
        version = self.instance.updated_at
        if hasattr(self.instance, "_history"):
            # A version restored from the history: it is checked against the record as it is now.
            version = current_version(self.instance, lock=False)
        self.fields[VERSION_FIELD].initial = version.isoformat() if version else ""
        if self.is_bound and not self.refuse_untouched:
            self._compare_with_opened_version()

    def _compare_with_opened_version(self):
        """has_changed() tells what the editor changed since opening, not what differs from the
        record now: for a record changed meanwhile, the values it had when opened come from its history."""
        opened = parse_version(self.data.get(self.add_prefix(VERSION_FIELD)))
        if opened is None or opened == self.instance.updated_at:
            return
        version = type(self.instance).history.filter(id=self.instance.pk, updated_at=opened).first()
        if version is not None:
            self.initial.update(model_to_dict(version.instance, self._meta.fields, self._meta.exclude))

    @property
    def changed_data(self):
        return [name for name in super().changed_data if name != VERSION_FIELD]

    def clean(self):
        cleaned_data = super().clean()
        posted = self.data.get(self.add_prefix(VERSION_FIELD))
        # A form posted without a version (a script, a page opened before this check existed) is not checked.
        if self.instance.pk is None or not posted:
            return cleaned_data
        if not self.refuse_untouched and not self.has_changed():
            return cleaned_data  # not written back (Django's formsets skip unchanged forms)
        current = current_version(self.instance, lock=True)
        if current is not None and current != parse_version(posted):
            self.version_conflict = self.conflict_message(current)
            raise forms.ValidationError(self.version_conflict, code="version_conflict")
        return cleaned_data

    def conflict_message(self, current):
        return _(
            "Cette fiche a été modifiée %(by)s depuis que vous l'avez ouverte : vos modifications n'ont pas "
            "été enregistrées. Rechargez la page pour voir la version actuelle, puis refaites vos modifications."
        ) % {"by": changed_by(self.instance, current)}


class VersionedInlineForm(VersionedModelForm):
    """An inline record of the change form: written only if the editor changed it."""

    refuse_untouched = False

    def conflict_message(self, current):
        return _(
            "« %(record)s » (%(kind)s) a été modifié %(by)s depuis que vous avez ouvert cette fiche : vos "
            "modifications n'ont pas été enregistrées. Rechargez la page pour voir la version actuelle, "
            "puis refaites vos modifications."
        ) % {"record": self.instance, "kind": self.instance._meta.verbose_name,
             "by": changed_by(self.instance, current)}
