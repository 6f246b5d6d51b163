"""The editors' admin: French, grouped as the public pages read, with history,
publication and verification actions, and a list of what needs checking."""
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, router, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst, slugify
from dsfr.models import DsfrConfig
from modeltranslation.admin import TranslationAdmin, TranslationStackedInline
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper, ObjDiffDisplay

from . import pending_imports
from .forms import VERSION_FIELD, VersionedInlineForm, VersionedModelForm
from .models import ImportLog, KeyFigure, Page, PolicyItem, Pole, Project, Territory, Theme
from .resources import RESOURCES
from .spreadsheets import (
    CONTENT_TYPES,
    FORMATS,
    SpreadsheetError,
    export_dataset,
    read_spreadsheet,
    record_import,
    run_import,
    write_spreadsheet,
)
from .templatetags.poles_tags import render_markdown

# The portal does not read django-dsfr's settings from the database: hide them.
admin.site.unregister(DsfrConfig)


class NeedsCheckFilter(admin.SimpleListFilter):
    title = "à vérifier"
    parameter_name = "a_verifier"

    def lookups(self, request, model_admin):
        return [("oui", "À vérifier (plus d'un an)"), ("non", "Vérifié dans l'année")]

    def queryset(self, request, queryset):
        to_check = queryset.to_check()
        if self.value() == "oui":
            return to_check
        if self.value() == "non":
            return queryset.exclude(pk__in=to_check.values("pk"))
        return queryset


PROVENANCE_FIELDSET = (
    "Publication et source",
    {"fields": ("is_published", "source", "source_url", "verified_on")},
)


class HistoryDisplay(HistoricalRecordContextHelper):
    """Each changed value in full, and "(vide)" for none: the library cuts values
    at 80 characters with English markers, and shows an empty value as "None"."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        return "(vide)" if value in (None, "", []) else value

    def get_obj_diff_display(self):
        return ObjDiffDisplay(max_length=1_000_000)


def with_version_field(fieldsets):
    """The form's hidden version (see poles/forms.py), as the last line of the last fieldset."""
    *others, (name, options) = fieldsets
    return [*others, (name, {**options, "fields": [*options["fields"], VERSION_FIELD]})]


class ContentAdmin(SimpleHistoryAdmin, TranslationAdmin):
    """What every content model's admin shares: history, publication, verification,
    and the refusal to save over a change made since the form was opened."""

    form = VersionedModelForm
    actions = ["publish", "unpublish", "mark_verified"]

    class Media:
        js = ["js/admin-select2-a11y.js"]

    # An address typed without scheme ("www.example.fr") becomes https://.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50
    history_list_per_page = 50

    def get_fieldsets(self, request, obj=None):
        return with_version_field(super().get_fieldsets(request, obj))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """A conflict on an inline record is also said at the top of the page."""
        form = context["adminform"].form
        if form.is_bound and form.version_conflict is None:
            for inline in context.get("inline_admin_formsets", []):
                for inline_form in inline.formset.forms:
                    if getattr(inline_form, "version_conflict", None):
                        form.add_error(None, inline_form.version_conflict)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """In a transaction, as the change form is: the version check locks the record."""
        with transaction.atomic(using=router.db_for_write(self.model)):
            return super().history_form_view(request, object_id, version_id, extra_context)

    def get_historical_record_context_helper(self, request, historical_record):
        return HistoryDisplay(self.model, historical_record)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Show each translated field once, by its language versions ("Résumé [fr]"):
        the untranslated column mirrors the French one."""
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        mirrored = {capfirst(self.model._meta.get_field(name).verbose_name) for name in self.trans_opts.fields}
        for record in historical_records:
            changes = getattr(record, "history_delta_changes", None)
            if changes:
                record.history_delta_changes = [change for change in changes if change["field"] not in mirrored]

    @admin.display(description="fraîcheur")
    def needs_check(self, obj):
        """Spelled out rather than an icon: a green tick would read as "fine"."""
        return "à vérifier" if obj.needs_check else "vérifié"

    @admin.display(description="sur le site")
    def site_link(self, obj):
        return format_html('<a href="{}">Voir sur le site</a>', obj.get_absolute_url())

    @admin.display(description="aperçu du texte")
    def body_preview(self, obj):
        """The body as the public page renders it (last saved version)."""
        if not obj.body:
            return "—"
        return format_html('<div class="portal-preview">{}</div>', mark_safe(render_markdown(obj.body)))  # noqa: S308

    def _save_each(self, request, queryset, reason, **values):
        """Save record by record (not queryset.update) so each change enters the history."""
        for record in queryset:
            for field, value in values.items():
                setattr(record, field, value)
            record._change_reason = reason
            record.save()
        return len(queryset)

    @admin.action(description="Publier la sélection", permissions=["change"])
    def publish(self, request, queryset):
        count = self._save_each(request, queryset, "Publication", is_published=True)
        self.message_user(request, f"{count} élément(s) publié(s).", messages.SUCCESS)

    @admin.action(description="Dépublier la sélection", permissions=["change"])
    def unpublish(self, request, queryset):
        count = self._save_each(request, queryset, "Dépublication", is_published=False)
        self.message_user(request, f"{count} élément(s) retiré(s) du site.", messages.SUCCESS)

    @admin.action(description="Marquer comme vérifié aujourd'hui", permissions=["change"])
    def mark_verified(self, request, queryset):
        count = self._save_each(request, queryset, "Vérification", verified_on=timezone.localdate())
        self.message_user(request, f"{count} élément(s) marqué(s) comme vérifié(s).", messages.SUCCESS)


class SpreadsheetAdminMixin:
    """Import and export of the model's spreadsheet: upload, preview, confirm.

    The uploaded file waits between the preview and the confirmation in a
    private folder, under a random name bound to the user; it is deleted once
    confirmed, and any left for more than a day is deleted at the next upload.
    Confirming imports the file again from scratch, all or nothing.
    """

    change_list_template = "admin/poles/change_list_spreadsheet.html"
    resource_name = None  # key of poles.resources.RESOURCES

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="%s_%s_import" % info),
            path("import/confirmer/", wrap(self.confirm_import_view), name="%s_%s_import_confirm" % info),
            path("import/colonnes/", wrap(self.columns_view), name="%s_%s_columns" % info),
            path("export/<str:file_format>/", wrap(self.export_view), name="%s_%s_export" % info),
            path("modele/<str:file_format>/", wrap(self.template_view), name="%s_%s_template" % info),
        ] + super().get_urls()

    def has_import_permission(self, request):
        """Importing adds and changes records: it needs both rights (the library's
        default lets any staff user import)."""
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request),
                         "spreadsheet_formats": FORMATS}
        return super().changelist_view(request, extra_context)

    def _context(self, request, **values):
        return {**self.admin_site.each_context(request), "opts": self.opts, "formats": FORMATS,
                "max_megabytes": settings.SPREADSHEET_MAX_BYTES / 1024 / 1024, **values}

    def import_view(self, request):
        if not self.has_import_permission(request):
            raise PermissionDenied
        context = self._context(request, title=f"Importer des {self.opts.verbose_name_plural}")
        if request.method == "POST":
            upload = request.FILES.get("fichier")
            if upload is None:
                context["file_error"] = "Choisissez un fichier à importer."
            else:
                context.update(self._preview(request, upload))
        return TemplateResponse(request, "admin/poles/spreadsheet_import.html", context)

    def _preview(self, request, upload):
        if upload.size > settings.SPREADSHEET_MAX_BYTES:
            return {"file_error": f"Le fichier « {upload.name} » dépasse la taille maximale de "
                                  f"{settings.SPREADSHEET_MAX_BYTES / 1024 / 1024:g} Mo."}
        content = upload.read()
        try:
            report = run_import(RESOURCES[self.resource_name], read_spreadsheet(content, upload.name), dry_run=True)
        except SpreadsheetError as error:
            record_import(self.resource_name, upload.name, user=request.user)
            return {"file_error": str(error)}
        context = {"report": report, "file_name": upload.name}
        if report.is_valid:
            context["token"] = pending_imports.store(request.user, upload.name, content)
        else:
            record_import(self.resource_name, upload.name, report, user=request.user)
        return context

    def confirm_import_view(self, request):
        if not self.has_import_permission(request) or request.method != "POST":
            raise PermissionDenied
        try:
            name, content = pending_imports.take(request.user, request.POST.get("token", ""))
        except LookupError:
            self.message_user(request, "Ce fichier n'est plus disponible : envoyez-le à nouveau.", messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        try:
            report = run_import(RESOURCES[self.resource_name], read_spreadsheet(content, name), dry_run=False)
        except SpreadsheetError as error:
            self.message_user(request, str(error), messages.ERROR)
            return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_import")
        record_import(self.resource_name, name, report, user=request.user)
        if report.applied:
            self.message_user(request, f"Import de « {name} » appliqué : {report.new} nouveau(x), "
                                       f"{report.updated} modifié(s), {report.unchanged} inchangé(s).", messages.SUCCESS)
        else:
            self.message_user(request, "Le fichier n'est plus valide : rien n'a été enregistré. "
                                       "Envoyez-le à nouveau pour voir les erreurs.", messages.ERROR)
        return redirect(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    def columns_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        resource = RESOURCES[self.resource_name]()
        keys = {resource.fields[name].column_name for name in resource._meta.import_id_fields}
        columns = []
        for field in resource.get_export_fields():
            model_field = self._model_field(field.attribute)
            columns.append({
                "name": field.column_name,
                "label": capfirst(model_field.verbose_name) if model_field else "Nombre de partenaires",
                "help": model_field.help_text if model_field else "Chiffre clé « partenaires » du pôle.",
                "kind": field.widget.description,
                "key": field.column_name in keys,
                "english": field.column_name.endswith("_en"),
            })
        context = self._context(request, title=f"Colonnes du tableur des {self.opts.verbose_name_plural}",
                                columns=columns)
        return TemplateResponse(request, "admin/poles/spreadsheet_columns.html", context)

    def _model_field(self, attribute):
        if not attribute:
            return None
        return self.model._meta.get_field(attribute)

    def export_view(self, request, file_format):
        return self._download(request, file_format, self.opts.verbose_name_plural, self.get_queryset(request))

    def template_view(self, request, file_format):
        """The headers and one example row (the first record, which imports unchanged)."""
        return self._download(request, file_format, f"modele-{self.opts.verbose_name_plural}",
                              self.model.objects.order_by("pk")[:1])

    def _download(self, request, file_format, name, queryset):
        if not self.has_view_permission(request) or file_format not in FORMATS:
            raise Http404
        content = write_spreadsheet(export_dataset(RESOURCES[self.resource_name](), queryset), file_format)
        response = HttpResponse(content, content_type=CONTENT_TYPES[file_format])
        response["Content-Disposition"] = f'attachment; filename="{slugify(name)}.{file_format}"'
        return response


class VersionedInlineMixin:
    """Inline records carry their version too, and are written only if the editor changed them."""

    form = VersionedInlineForm

    def get_fieldsets(self, request, obj=None):
        return with_version_field(super().get_fieldsets(request, obj))


class ProjectInline(VersionedInlineMixin, TranslationStackedInline):
    """Stacked, not tabular: a table row gives screen readers no label per field."""

    model = Project
    fields = ("title", "slug", "kind", "status", "summary", "is_published")
    prepopulated_fields = {"slug": ("title_fr",)}
    extra = 0
    show_change_link = True


class KeyFigureInline(VersionedInlineMixin, TranslationStackedInline):
    model = KeyFigure
    fields = ("value", "label", "reference_date", "period", "order", "is_published")
    extra = 0


@admin.register(Pole)
class PoleAdmin(SpreadsheetAdminMixin, ContentAdmin):
    resource_name = "poles"
    list_display = ("acronym", "name", "status", "is_published", "labelled_on", "verified_on", "needs_check", "site_link")
    list_filter = ("status", "is_published", NeedsCheckFilter, "themes", "territories__kind")
    search_fields = ("acronym", "name_fr", "name_en", "summary_fr", "body_fr")
    ordering = ("order", "name")
    prepopulated_fields = {"slug": ("acronym",)}
    autocomplete_fields = ("successor", "themes", "territories", "centres")
    readonly_fields = ("body_preview",)
    inlines = [KeyFigureInline, ProjectInline]
    fieldsets = (
        ("Identité", {"fields": ("name", "acronym", "slug", "title", "order")}),
        ("Statut et labellisation", {"fields": ("status", "successor", "labelled_on", "labelled_by")}),
        ("Présentation", {"fields": ("summary", "body", "body_preview", "website")}),
        ("Thématiques et territoires", {"fields": ("themes", "territories", "centres")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(Project)
class ProjectAdmin(SpreadsheetAdminMixin, ContentAdmin):
    resource_name = "projects"
    list_display = ("title", "pole", "kind", "status", "is_published", "verified_on", "needs_check", "site_link")
    list_filter = ("pole", "kind", "status", "is_published", NeedsCheckFilter, "themes", "territories__kind")
    list_select_related = ("pole",)
    search_fields = ("title_fr", "title_en", "summary_fr", "slug")
    ordering = ("pole__order", "order", "title")
    prepopulated_fields = {"slug": ("title_fr",)}
    autocomplete_fields = ("pole", "themes", "territories")
    readonly_fields = ("body_preview",)
    fieldsets = (
        ("Projet", {"fields": ("title", "slug", "pole", "kind", "status", "order")}),
        ("Présentation", {"fields": ("summary", "body", "body_preview", "website")}),
        ("Dates", {"fields": ("start_date", "end_date")}),
        ("Thématiques et territoires", {"fields": ("themes", "territories")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(Theme)
class ThemeAdmin(SpreadsheetAdminMixin, ContentAdmin):
    resource_name = "themes"
    list_display = ("name", "parent", "is_published", "verified_on", "needs_check", "site_link")
    list_filter = ("is_published", NeedsCheckFilter, ("parent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("parent",)
    search_fields = ("name_fr", "name_en", "slug")
    ordering = ("order", "name")
    prepopulated_fields = {"slug": ("name_fr",)}
    autocomplete_fields = ("parent",)
    fieldsets = (
        ("Thématique", {"fields": ("name", "slug", "parent", "order", "description")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(Territory)
class TerritoryAdmin(SpreadsheetAdminMixin, ContentAdmin):
    resource_name = "territories"
    list_display = ("name", "kind", "code", "parent", "is_historical", "is_published", "needs_check", "site_link")
    list_filter = ("kind", "is_historical", "is_published", NeedsCheckFilter)
    list_select_related = ("parent",)
    search_fields = ("name_fr", "name_en", "code", "slug")
    ordering = ("kind", "name")
    prepopulated_fields = {"slug": ("name_fr",)}
    autocomplete_fields = ("parent",)
    fieldsets = (
        ("Territoire", {"fields": ("name", "slug", "kind", "code", "parent", "is_historical", "description")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(KeyFigure)
class KeyFigureAdmin(ContentAdmin):
    list_display = ("__str__", "pole", "period", "reference_date", "is_published", "needs_check")
    list_filter = ("pole", "is_published", NeedsCheckFilter)
    list_select_related = ("pole",)
    search_fields = ("label_fr", "label_en", "pole__acronym")
    ordering = ("pole__order", "order")
    autocomplete_fields = ("pole",)
    fieldsets = (
        ("Chiffre", {"fields": ("pole", "value", "label", "reference_date", "period", "order")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(PolicyItem)
class PolicyItemAdmin(ContentAdmin):
    list_display = ("__str__", "kind", "order", "is_published", "needs_check")
    list_filter = ("kind", "is_published", NeedsCheckFilter)
    search_fields = ("text_fr", "text_en")
    ordering = ("kind", "order")
    fieldsets = (
        ("Point de la politique nationale", {"fields": ("kind", "text", "order")}),
        PROVENANCE_FIELDSET,
    )


@admin.register(Page)
class PageAdmin(ContentAdmin):
    """The site's pages are fixed by its addresses: editors change their text only."""

    list_display = ("title", "is_published", "verified_on", "needs_check", "site_link")
    list_filter = ("is_published", NeedsCheckFilter)
    search_fields = ("title_fr", "title_en", "summary_fr", "body_fr")
    readonly_fields = ("slug", "body_preview")
    fieldsets = (
        ("Page", {"fields": ("slug", "title", "summary", "body", "body_preview")}),
        PROVENANCE_FIELDSET,
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ImportLog)
class ImportLogAdmin(admin.ModelAdmin):
    """A record of every import: readable, never editable."""

    list_display = ("created_at", "user", "model", "file_name", "file_format", "new", "updated", "unchanged",
                    "errors", "applied")
    list_filter = ("model", "applied", "file_format")
    search_fields = ("file_name", "user__username")
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
