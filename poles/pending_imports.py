"""Spreadsheets waiting between their preview and their confirmation.

Each waits in a private folder under a random name that includes its user's
id, so that nobody else can confirm it; confirming takes it (deletes it), and
any file left for more than a day is deleted at the next upload.
"""
import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings

MAX_AGE_SECONDS = 24 * 3600


def folder():
    path = Path(getattr(settings, "PENDING_IMPORTS_DIR", Path(tempfile.gettempdir()) / "poles-imports"))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def _path(user, token):
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        raise LookupError(token)
    return folder() / f"{user.pk}-{token}"


def store(user, name, content):
    """Keeps the file and returns the token that will find it again."""
    _delete_old()
    token = secrets.token_urlsafe(24)
    _path(user, token).write_bytes(name.encode("utf-8") + b"\n" + content)
    return token


def take(user, token):
    """The file's name and content, removed from the folder; LookupError if gone."""
    path = _path(user, token)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise LookupError(token) from None
    path.unlink(missing_ok=True)
    name, _, content = data.partition(b"\n")
    return name.decode("utf-8"), content


def _delete_old():
    limit = time.time() - MAX_AGE_SECONDS
    for path in folder().iterdir():
        if path.stat().st_mtime < limit:
            path.unlink(missing_ok=True)
