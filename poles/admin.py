"""The editors' admin: French, grouped as the public pages read, with history,
publication and verification actions, and a list of what needs checking."""
from django.contrib import admin, messages
from django.db import models
from dsfr.models import DsfrConfig
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from modeltranslation.admin import TranslationAdmin, TranslationTabularInline
from simple_history.admin import SimpleHistoryAdmin

from .models import KeyFigure, Page, PolicyItem, Pole, Project, Territory, Theme
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


class ContentAdmin(SimpleHistoryAdmin, TranslationAdmin):
    """What every content model's admin shares: history, publication, verification."""

    actions = ["publish", "unpublish", "mark_verified"]
    # An address typed without scheme ("www.example.fr") becomes https://.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_per_page = 50
    history_list_per_page = 50

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Show each translated field once, by its language versions ("Résumé [fr]"):
        the untranslated column mirrors the French one."""
        super().set_history_delta_changes(request, historical_records, foreign_keys_are_objs)
        mirrored = {capfirst(self.model._meta.get_field(name).verbose_name) for name in self.trans_opts.fields}
        for record in historical_records:
            changes = getattr(record, "history_delta_changes", None)
            if changes:
                record.history_delta_changes = [change for change in changes if change["field"] not in mirrored]

    @admin.display(boolean=True, description="à vérifier")
    def needs_check(self, obj):
        return obj.needs_check

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


class ProjectInline(TranslationTabularInline):
    model = Project
    fields = ("title", "slug", "kind", "status", "summary", "is_published")
    prepopulated_fields = {"slug": ("title_fr",)}
    extra = 0
    show_change_link = True


class KeyFigureInline(TranslationTabularInline):
    model = KeyFigure
    fields = ("value", "label", "reference_date", "period", "order", "is_published")
    extra = 0


@admin.register(Pole)
class PoleAdmin(ContentAdmin):
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
class ProjectAdmin(ContentAdmin):
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
class ThemeAdmin(ContentAdmin):
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
class TerritoryAdmin(ContentAdmin):
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
