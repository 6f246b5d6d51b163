"""Settings for the test suite: the real settings, with a throwaway secret key,
plain static storage (no collectstatic needed) and a fast password hasher."""
import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "test-suite-only-secret-key")
# This run's own cache generation (the processes it starts inherit it): not the one
# of a server, or of another test run, on the same checkout.
if "PORTAL_CACHE_DIR" not in os.environ:
    os.environ["PORTAL_CACHE_DIR"] = tempfile.mkdtemp(prefix="portal-test-cache-")
    atexit.register(shutil.rmtree, os.environ["PORTAL_CACHE_DIR"], ignore_errors=True)

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
