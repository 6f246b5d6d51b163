"""Response headers Django does not set itself, and a bound on request bodies."""
from django.conf import settings
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from poles.addresses import page_url

# Browser features the portal never uses, turned off for its pages and anything they embed.
# Only features Chromium 156 knows: it logs an unknown one on every page's console.
DISABLED_FEATURES = [
    "accelerometer", "autoplay", "browsing-topics", "camera", "clipboard-read", "clipboard-write",
    "compute-pressure", "display-capture", "encrypted-media", "fullscreen", "gamepad", "geolocation",
    "gyroscope", "hid", "identity-credentials-get", "idle-detection", "interest-cohort", "keyboard-map",
    "local-fonts", "magnetometer", "microphone", "midi", "otp-credentials", "payment", "picture-in-picture",
    "publickey-credentials-create", "publickey-credentials-get", "screen-wake-lock", "serial",
    "storage-access", "sync-xhr", "usb", "window-management", "xr-spatial-tracking",
]
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in DISABLED_FEATURES)
# The name the policy's `report-to` gives the report endpoint.
CSP_REPORT_GROUP = "csp"
# Never read more than this of a refused body (see RequestSizeLimitMiddleware).
DISCARD_MAX_BYTES = 64 * 1024 * 1024


class SecurityHeadersMiddleware:
    """Permissions-Policy, and the Reporting-Endpoints header that tells browsers where the
    Content-Security-Policy's `report-to` group sends its reports."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Reporting-Endpoints", f'{CSP_REPORT_GROUP}="{page_url("csp-report")}"')
        return response


class RequestSizeLimitMiddleware:
    """Refuses a request body larger than REQUEST_MAX_BYTES with a page saying so, before
    anything reads it. Django bounds form fields (DATA_UPLOAD_MAX_MEMORY_SIZE) but not
    uploaded files, which it would write to disk whatever their size.

    The refused body is read and thrown away (up to DISCARD_MAX_BYTES): a server that answers
    and hangs up while the browser is still sending makes it show a connection error instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= settings.REQUEST_MAX_BYTES:
            return self.get_response(request)
        remaining = min(length, DISCARD_MAX_BYTES)
        while remaining > 0 and (chunk := request.read(min(remaining, 64 * 1024))):
            remaining -= len(chunk)
        referer = request.headers.get("Referer", "")
        back = referer if url_has_allowed_host_and_scheme(referer, {request.get_host()}) else None
        return render(request, "413.html", {
            "max_megabytes": settings.SPREADSHEET_MAX_BYTES / 1024 / 1024, "back": back,
        }, status=413)
