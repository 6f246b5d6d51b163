"""The portal's admin site: its French titles, and an index that lists what
needs checking. Kept apart from admin.py, which registers models on it."""
from django.contrib import admin
from django.db.models import F
from django.urls import reverse

from .models import CONTENT_MODELS
# How many records the admin index lists under "À vérifier".
TO_CHECK_ON_INDEX = 10


class PortalAdminSite(admin.AdminSite):
    site_header = "Pôles de compétitivité — administration"
    site_title = "Administration des pôles de compétitivité"
    index_title = "Contenus du portail"

    def index(self, request, extra_context=None):
        """The index also lists the oldest content that needs checking."""
        to_check = []
        for model in CONTENT_MODELS:
            opts = model._meta
            if request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}"):
                for record in model.objects.to_check().order_by(F("verified_on").asc(nulls_first=True))[:TO_CHECK_ON_INDEX]:
                    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[record.pk])
                    to_check.append({"record": record, "kind": opts.verbose_name, "url": url})
        # Never verified first, then the oldest verification.
        to_check.sort(key=lambda item: (item["record"].verified_on is not None, item["record"].verified_on or 0))
        extra_context = {**(extra_context or {}), "to_check": to_check[:TO_CHECK_ON_INDEX]}
        return super().index(request, extra_context)
