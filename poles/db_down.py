"""A French 503 page, rather than a 500, while the database cannot be reached.

Visitors read that the site is down for a moment, and browsers and robots are
told when to come back (Retry-After). The site recovers on its own: Django
checks each worker's persistent connection at the start of a request
(conn_health_checks in portal/settings.py) and opens a new one once the
database answers again. Pages already in the page cache are still served.
"""

import logging

import psycopg
from django.contrib.auth.models import AnonymousUser
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers

logger = logging.getLogger(__name__)

# Django wraps the driver's errors in its own; psycopg's are listed in case one escapes.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, DATABASE_DOWN_ERRORS):
            return None
        # One line per request: a stopped database would otherwise fill the log with tracebacks.
        logger.error("Base de données injoignable, page 503 pour %s : %s", request.path, exception)
        match = request.resolver_match
        if match is not None and "api" in match.namespaces:
            # The read API answers its errors as {"detail": "…"}, in French.
            response = JsonResponse(
                {"detail": "Service momentanément indisponible : réessayez dans une minute."},
                status=503,
                json_dumps_params={"ensure_ascii": False},
            )
        else:
            # The page must not need the database: no session, hence no account.
            request.user = AnonymousUser()
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        add_never_cache_headers(response)
        return response
