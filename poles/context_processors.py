from django.conf import settings


def site(request):
    """Site-wide values the base template shows on every page."""
    return {
        "SITE_NAME": settings.SITE_NAME,
        "ACCESSIBILITY_STATUS": settings.ACCESSIBILITY_STATUS,
    }
