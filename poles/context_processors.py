from django.conf import settings
from django.utils.translation import gettext_lazy as _

# The RGAA's three compliance levels, so that English pages say them in English.
ACCESSIBILITY_LEVELS = {
    "non conforme": _("non conforme"),
    "partiellement conforme": _("partiellement conforme"),
    "totalement conforme": _("totalement conforme"),
}


def site(request):
    """Site-wide values the base template shows on every page."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "ACCESSIBILITY_STATUS": ACCESSIBILITY_LEVELS.get(settings.ACCESSIBILITY_STATUS, settings.ACCESSIBILITY_STATUS),
    }
