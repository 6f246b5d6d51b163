"""The CSP violation report endpoint, and the error pages Django renders without the site's context."""
import json
import logging
from urllib.parse import urlsplit

from django.db.models import F
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from poles.context_processors import site

from .models import CspReport

logger = logging.getLogger("security.csp")

# A browser's report is a few kilobytes; a batch of the Reporting API a few dozen.
REPORT_MAX_BYTES = 64 * 1024
REPORTS_PER_REQUEST = 20
# Distinct violations kept: beyond, new kinds are only logged (a flood fills no disk).
STORED_KINDS_MAX = 1000
REPORT_CONTENT_TYPES = {"application/csp-report", "application/reports+json", "application/json"}


def without_query(value):
    """An address without its query string and fragment, which may carry personal data."""
    value = str(value or "")
    parts = urlsplit(value)
    if not parts.scheme or not parts.netloc:
        return value  # "inline", "eval", "data"...
    return parts._replace(query="", fragment="").geturl()


def violations(payload):
    """The violations a report carries, whichever format the browser used: `report-uri`
    ({"csp-report": {...}}, hyphenated keys) or the Reporting API of `report-to`
    ([{"type": "csp-violation", "body": {...}}], camelCase keys)."""
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        report = payload["csp-report"]
        yield {
            "document_uri": report.get("document-uri"),
            "directive": report.get("effective-directive") or report.get("violated-directive"),
            "blocked_uri": report.get("blocked-uri"),
            "source_file": report.get("source-file"),
            "line_number": report.get("line-number"),
            "column_number": report.get("column-number"),
            "sample": report.get("script-sample"),
            "disposition": report.get("disposition"),
            "user_agent": None,
        }
    elif isinstance(payload, list):
        for report in payload[:REPORTS_PER_REQUEST]:
            if not isinstance(report, dict) or report.get("type") != "csp-violation":
                continue
            body = report.get("body") if isinstance(report.get("body"), dict) else {}
            yield {
                "document_uri": body.get("documentURL") or report.get("url"),
                "directive": body.get("effectiveDirective"),
                "blocked_uri": body.get("blockedURL"),
                "source_file": body.get("sourceFile"),
                "line_number": body.get("lineNumber"),
                "column_number": body.get("columnNumber"),
                "sample": body.get("sample"),
                "disposition": body.get("disposition"),
                "user_agent": report.get("user_agent"),
            }


def as_number(value):
    return value if isinstance(value, int) and 0 <= value < 2**31 else None


def store(violation, user_agent):
    values = {
        "document_uri": without_query(violation["document_uri"])[:2000],
        "directive": str(violation["directive"] or "")[:200],
        "blocked_uri": without_query(violation["blocked_uri"])[:2000],
        "source_file": without_query(violation["source_file"])[:2000],
        "line_number": as_number(violation["line_number"]),
    }
    if not values["document_uri"] or not values["directive"]:
        return
    fingerprint = CspReport.fingerprint_of(*values.values())
    if CspReport.objects.filter(fingerprint=fingerprint).update(count=F("count") + 1):
        return
    if CspReport.objects.count() >= STORED_KINDS_MAX:
        logger.warning("CSP : violation non enregistrée (limite de %s atteinte) : %s", STORED_KINDS_MAX, values)
        return
    report, created = CspReport.objects.get_or_create(fingerprint=fingerprint, defaults={
        **values,
        "column_number": as_number(violation["column_number"]),
        "sample": str(violation["sample"] or "")[:200],
        "disposition": str(violation["disposition"] or "")[:20],
        "user_agent": str(violation["user_agent"] or user_agent)[:500],
    })
    if created:
        logger.warning("CSP : nouvelle violation : %s", report)
    else:  # sent at the same time by another browser
        CspReport.objects.filter(pk=report.pk).update(count=F("count") + 1)


@csrf_exempt
@require_POST
def csp_report(request):
    """Where browsers send Content-Security-Policy violations (the policy's `report-uri`
    and `report-to`). Anonymous by nature: bounded in size, stored as counted kinds."""
    if request.content_type not in REPORT_CONTENT_TYPES:
        return HttpResponse("Type de contenu non accepté.", status=415, content_type="text/plain; charset=utf-8")
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if not 0 < length <= REPORT_MAX_BYTES:
        return HttpResponse("Rapport vide ou trop volumineux.", status=413, content_type="text/plain; charset=utf-8")
    try:
        payload = json.loads(request.body)
    except ValueError:
        return HttpResponseBadRequest("Rapport illisible.", content_type="text/plain; charset=utf-8")
    for violation in violations(payload):
        store(violation, request.headers.get("User-Agent", ""))
    return HttpResponse(status=204)


def bad_request(request, exception):
    """The 400 page, rendered without the request: a request refused for its Host header
    would fail again where the page shows its address."""
    return HttpResponseBadRequest(render_to_string("400.html", site(request)))


def csrf_failure(request, reason=""):
    """A form sent without its security token (expired page, cookies refused): said in French,
    in the site's design, without Django's technical reason."""
    return render(request, "403_csrf.html", status=403)
