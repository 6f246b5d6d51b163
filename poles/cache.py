"""Public pages served from the cache, and forgotten at any content change.

Each page is stored under the content's current *generation*: a token that any
change to the content replaces — saves, deletions and relation changes of the
content models (signals, whatever their origin: admin form, bulk action,
history revert, shell, row-by-row import) and the spreadsheet import's batch
writes, which call `content_changed()` themselves. A page of an older
generation is never read again and expires.

The generation must be seen at once by every process serving the site (gunicorn
workers, an import run from the command line): with Redis it lives there, with
the pages; without Redis the pages stay in each process's memory but the
generation lives in files (see CACHES in portal/settings.py).

Only anonymous visitors are served from the cache, and only pages that carry
nothing personal: a request with a session (staff see draft banners) or a
message cookie is rendered afresh, and a response that sets a cookie or holds a
CSRF token is not stored. A cache that fails (Redis down) is skipped for a few
seconds: pages are then rendered, never refused.
"""
import gzip
import hashlib
import logging
import secrets
import time

import brotli
from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost, MiddlewareNotUsed
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date

logger = logging.getLogger(__name__)

GENERATION_KEY = "content-generation"
# Bounds how long a page could outlive an edit made while the cache was unreachable.
PAGE_TIMEOUT = 10 * 60
# After a cache error, how long this process serves pages without the cache.
RETRY_AFTER = 10
# The namespace of the public pages (poles/urls.py): only their responses are stored.
PUBLIC_NAMESPACE = "poles"

_unavailable_until = 0.0
_bump_pending = False


def _pages():
    return caches["default"]


def _generations():
    return caches["content-generation"]


def _available():
    return time.monotonic() >= _unavailable_until


def _failed(error):
    """Skips the cache for a while: each request would otherwise wait for it."""
    global _unavailable_until
    _unavailable_until = time.monotonic() + RETRY_AFTER
    logger.warning("Cache indisponible, pages servies sans cache pendant %s s : %s", RETRY_AFTER, error)


def _new_generation():
    # The time (for Last-Modified) and a random part: two changes within the same
    # nanosecond in two processes still make two generations.
    return f"{time.time_ns()}-{secrets.token_hex(4)}"


def bump():
    """Starts a new generation: every page stored so far is forgotten."""
    global _bump_pending
    try:
        _generations().set(GENERATION_KEY, _new_generation(), timeout=None)
        _bump_pending = False
    except Exception as error:  # noqa: BLE001 - any cache failure (Redis down) must not fail an edit
        _bump_pending = True
        _failed(error)


def current_generation():
    """The current generation, or None when the cache cannot be reached."""
    if not _available():
        return None
    try:
        if _bump_pending:
            bump()
            if _bump_pending:
                return None
        generation = _generations().get(GENERATION_KEY)
        if generation is None:
            # Lost (eviction, restart): a fresh one, so that no older page can come back.
            _generations().add(GENERATION_KEY, _new_generation(), timeout=None)
            generation = _generations().get(GENERATION_KEY)
        return generation
    except Exception as error:  # noqa: BLE001
        _failed(error)
        return None


def answers():
    """Whether the caches the pages need each store a value and give it back (/sante/)."""
    probe = secrets.token_hex(8)
    try:
        for cache in (_pages(), _generations()):
            cache.set(f"health-{probe}", probe, timeout=10)
            answer = cache.get(f"health-{probe}")
            cache.delete(f"health-{probe}")
            if answer != probe:
                return False
        return True
    except Exception as error:  # noqa: BLE001
        logger.warning("Cache injoignable (contrôle de santé) : %s", error)
        return False


def content_changed(using=None, **kwargs):
    """Forgets every cached page: now, for whatever reads inside the writing
    transaction (and for the test suite, whose transactions never commit), and
    again once the transaction commits — a page rendered from the data as it was
    before the commit may have been stored under the first new generation."""
    bump()
    transaction.on_commit(bump, using=using)


def _relation_changed(action, instance, using=None, **kwargs):
    from .models import CONTENT_MODELS

    if action.startswith("post_") and isinstance(instance, CONTENT_MODELS):
        content_changed(using=using)


def connect_signals():
    from .models import CONTENT_MODELS

    for model in CONTENT_MODELS:
        post_save.connect(content_changed, sender=model, dispatch_uid=f"cache-save-{model.__name__}")
        post_delete.connect(content_changed, sender=model, dispatch_uid=f"cache-delete-{model.__name__}")
    m2m_changed.connect(_relation_changed, dispatch_uid="cache-relations")


def _page_key(request, generation):
    address = f"{request.scheme}://{request.get_host()}{request.get_full_path()}"
    return f"page:{generation}:{hashlib.sha256(address.encode()).hexdigest()}"


def _last_modified(generation):
    return int(generation.split("-", 1)[0]) // 1_000_000_000


def _is_anonymous_read(request):
    return (
        request.method in ("GET", "HEAD")
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and "messages" not in request.COOKIES
    )


def _is_storable(request, response):
    match = request.resolver_match
    return (
        response.status_code == 200
        and not response.streaming
        and match is not None
        and PUBLIC_NAMESPACE in match.namespaces
        and not response.cookies
        # The page holds a CSRF token: it belongs to this visitor only.
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not response.has_header("Cache-Control")
    )


def _compressed(content):
    """The page's bodies by content coding, compressed once when stored: most
    browsers take Brotli, the rest gzip."""
    return {
        "br": brotli.compress(content, quality=5),
        "gzip": gzip.compress(content, compresslevel=6, mtime=0),
        "identity": content,
    }


def _accepted_coding(request):
    accepted = {}
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, parameters = part.strip().partition(";")
        accepted[coding.strip().lower()] = parameters.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return next((coding for coding in ("br", "gzip") if accepted.get(coding)), "identity")


def _answer(request, bodies, headers, etag, last_modified):
    """The stored page in the coding the browser accepts. Browsers keep it but ask
    each time whether it changed: 304 if not (ETag, else Last-Modified)."""
    coding = _accepted_coding(request)
    body = bodies[coding]
    response = HttpResponse(b"" if request.method == "HEAD" else body, headers=headers)
    response["Content-Length"] = len(body)
    if coding != "identity":
        response["Content-Encoding"] = coding
        etag = f'{etag[:-1]}-{coding}"'  # each coding is its own representation
    patch_vary_headers(response, ["Accept-Encoding"])
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    patch_cache_control(response, no_cache=True)
    return get_conditional_response(request, etag=etag, last_modified=last_modified, response=response)


class PublicPageCacheMiddleware:
    """Answers anonymous visitors from the cache. Placed right under Django's
    SecurityMiddleware, a cached page is answered as it was stored, with the
    headers every middleware below gave it (CSP, Permissions-Policy…), and costs
    less than a static file."""

    def __init__(self, get_response):
        if not settings.PAGE_CACHE:
            raise MiddlewareNotUsed
        self.get_response = get_response

    def __call__(self, request):
        if not _is_anonymous_read(request):
            return self.get_response(request)
        generation = current_generation()
        if generation is None:
            return self.get_response(request)
        try:
            key = _page_key(request, generation)
        except DisallowedHost:
            return self.get_response(request)  # refused below, with the French 400 page
        last_modified = _last_modified(generation)
        try:
            stored = _pages().get(key)
        except Exception as error:  # noqa: BLE001
            _failed(error)
            return self.get_response(request)
        if stored is not None:
            response = _answer(request, *stored, last_modified)
            response["X-Cache"] = "HIT"
            return response
        response = self.get_response(request)
        if not _is_storable(request, response):
            return response
        stored = (
            _compressed(response.content),
            {name: value for name, value in response.items() if name != "Content-Length"},
            f'"{hashlib.md5(response.content, usedforsecurity=False).hexdigest()}"',
        )
        if request.method == "GET":
            try:
                _pages().set(key, stored, timeout=PAGE_TIMEOUT)
            except Exception as error:  # noqa: BLE001
                _failed(error)
        response = _answer(request, *stored, last_modified)
        response["X-Cache"] = "MISS"
        return response
