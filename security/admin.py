from django.contrib import admin

from .models import CspReport


@admin.register(CspReport)
class CspReportAdmin(admin.ModelAdmin):
    """What browsers reported: readable, never editable; deleted once the cause is fixed."""

    list_display = ("last_seen", "directive", "blocked_uri", "document_uri", "source_file", "line_number", "count")
    list_filter = ("directive", "disposition")
    search_fields = ("document_uri", "blocked_uri", "source_file", "sample")
    date_hierarchy = "last_seen"
    readonly_fields = [field.name for field in CspReport._meta.fields if field.name != "id"]
    exclude = ("fingerprint",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
