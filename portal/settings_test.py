"""Settings for the test suite: the real settings, with a throwaway secret key,
plain static storage (no collectstatic needed) and a fast password hasher."""
import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-only-secret-key")

from portal.settings import *  # noqa: E402,F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SECURE_SSL_REDIRECT = False
ALLOWED_HOSTS = ["*"]
# Serve static files from the apps' folders, as under runserver: no collectstatic in tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Browser tests log in over plain HTTP on the live server.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
