"""Settings for the portal, read from the environment (see .env.example)."""
import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy


BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("DJANGO_DEBUG")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY est obligatoire hors du mode debug : définissez cette "
            "variable d'environnement (voir .env.example) ou lancez le portail en "
            "local avec « make run »."
        )
    SECRET_KEY = "insecure-local-development-key"  # noqa: S105 - debug only

ALLOWED_HOSTS = [
    host.strip()
    for host in os.environ.get(
        "DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else ""
    ).split(",")
    if host.strip()
]

INSTALLED_APPS = [
    # modeltranslation must come before the admin to patch its forms.
    "modeltranslation",
    # The admin with the portal's own site (header, "à vérifier" list on the index).
    "poles.apps.PortalAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # whitenoise serves static files under runserver too, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "dsfr",
    "simple_history",
    "axes",
    "import_export",
    "django.contrib.sitemaps",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "poles",
    "csp",
    "security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A visitor's cached page is answered here, as stored with every header the middlewares
    # below gave it (CSP…): it costs less than a static file, which goes through them.
    "poles.cache.PublicPageCacheMiddleware",
    # Above whitenoise, so that static files get the headers too.
    "csp.middleware.CSPMiddleware",
    "security.middleware.SecurityHeadersMiddleware",
    # Below the header middlewares, so that its refusal page has them.
    "security.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A French 503 page, not a 500, while the database is unreachable.
    "poles.db_down.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # English pages live under /en/; every other address is French whatever the
    # browser asks (i18n_patterns without a prefix for the default language).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records who made each change in the content's history.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Must stay last: it answers locked-out login attempts.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # Checks the lockout before the password is even tried.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Where the admin lives, without leading slash (e.g. "gestion/"); default "admin/".
ADMIN_URL = os.environ.get("DJANGO_ADMIN_URL", "admin/").strip("/") + "/"

# Five failed logins lock the account for 15 minutes (axes' default is a permanent lock).
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
# Counted per account and per address: either reaching the limit locks.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"

# Spreadsheet imports: largest file and most rows accepted.
SPREADSHEET_MAX_BYTES = int(os.environ.get("PORTAL_SPREADSHEET_MAX_BYTES", 5 * 1024 * 1024))
SPREADSHEET_MAX_ROWS = int(os.environ.get("PORTAL_SPREADSHEET_MAX_ROWS", 20_000))

# An editor's session lasts a working day.
SESSION_COOKIE_AGE = 8 * 60 * 60

ROOT_URLCONF = "portal.urls"

# The read API (poles/api/): anonymous, JSON only, published content only. No
# authentication at all, so that staff see exactly what everyone sees. Its
# pagination and error format are set on its views.
REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API des pôles de compétitivité — Préfecture des Alpes-de-Haute-Provence",
    "DESCRIPTION": "Lecture seule, en JSON : les pôles, projets, thématiques et territoires publiés. "
    "Données sous Licence Ouverte 2.0 (Etalab). Documentation : /donnees/api/.",
    "VERSION": "1.0.0",
    "LICENSE": {"name": "Licence Ouverte 2.0 (Etalab)", "url": "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"},
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    # Statuses of poles and projects have different values: each its own name.
    "ENUM_NAME_OVERRIDES": {
        "PoleStatusEnum": "poles.models.Pole.Status",
        "ProjectStatusEnum": "poles.models.Project.Status",
        "ProjectKindEnum": "poles.models.Project.Kind",
        "TerritoryKindEnum": "poles.models.Territory.Kind",
    },
}

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "poles.context_processors.site",
            ],
        },
    },
]

WSGI_APPLICATION = "portal.wsgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Public pages are cached (poles/cache.py) under the content's generation, which
# every process must see at once. With Redis both live there; without it, each
# process keeps its pages in memory and the generation lives in files.
# PORTAL_PAGE_CACHE=0 renders every page afresh (benchmarks/http_bench.sh measures them so).
PAGE_CACHE = env_bool("PORTAL_PAGE_CACHE", True)
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    _redis = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A dead Redis must cost a visitor a moment, not seconds: pages are then served uncached.
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
    CACHES = {"default": _redis, "content-generation": _redis}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 2000}},
        "content-generation": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": os.environ.get("PORTAL_CACHE_DIR", str(BASE_DIR / ".cache")),
        },
    }
# The pages' chrome (asset links, header, footer, display settings), which no content edit
# changes, is kept in each process's memory by {% cache … using="chrome" %}; not in debug,
# where a template edit must show at once.
CACHES["chrome"] = {
    "BACKEND": f"django.core.cache.backends.{'dummy.DummyCache' if DEBUG else 'locmem.LocMemCache'}",
    "LOCATION": "chrome",
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# Content fields carry a French (required) and an English (optional) version;
# English falls back to French where it is missing.
MODELTRANSLATION_DEFAULT_LANGUAGE = "fr"
MODELTRANSLATION_LANGUAGES = ("fr", "en")
MODELTRANSLATION_FALLBACK_LANGUAGES = ("fr",)

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

FIXTURE_DIRS = [BASE_DIR / "fixtures"]

# Whitenoise's manifest storage rewrites the DSFR files, so django-dsfr's
# built-in integrity hashes no longer match and browsers would block them.
DSFR_USE_INTEGRITY_CHECKSUMS = False
# Content comes from editors and spreadsheets: DSFR components must escape it.
DSFR_CONTENT_IS_SAFE = False

# Not audited yet: the law then requires "non conforme" (RGAA 4.1, §4).
ACCESSIBILITY_STATUS = os.environ.get("PORTAL_ACCESSIBILITY_STATUS", "non conforme")
SITE_NAME = gettext_lazy("Les pôles de compétitivité")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "security.views.csrf_failure"
# Content-Security-Policy (django-csp 4) on every response: nothing by default, and for each
# kind of resource the site uses, only its own files; an inline script only with the request's
# nonce (nonce="{{ request.csp_nonce }}"), never on a cached public page; no inline style;
# data: images for the DSFR's icons, which its CSS embeds as data: SVG.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [NONE],
        "script-src": [SELF, NONCE],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "manifest-src": [SELF],  # the DSFR's web manifest (favicons)
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "report-uri": reverse_lazy("csp-report"),
        "report-to": "csp",  # the group security.middleware names in Reporting-Endpoints
    },
}
# Request bodies. Form fields: Django's 2.5 MB, and up to 10,000 of them (a pole's form has
# about 11 per project in its inline). No request larger than the largest spreadsheet or form,
# plus the form around it (security.middleware refuses it in French); an uploaded spreadsheet
# stays in memory, as the import reads it whole anyway.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000
FILE_UPLOAD_MAX_MEMORY_SIZE = SPREADSHEET_MAX_BYTES
REQUEST_MAX_BYTES = max(SPREADSHEET_MAX_BYTES, DATA_UPLOAD_MAX_MEMORY_SIZE) + 256 * 1024
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
