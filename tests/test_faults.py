"""The site under gunicorn when its PostgreSQL stops and comes back: a French
503 page meanwhile, cached pages still served, and recovery without restarting
anything; the backup commands saying the database is down.

A throwaway PostgreSQL instance is created for the module (initdb in a
temporary folder, its own port; see tests/throwaway_postgres.py), since the
shared one cannot be stopped. Without PostgreSQL's programs the test is
skipped, except under CI=true.
"""

import hashlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import html5lib
import pytest
from django.conf import settings

from tests.throwaway_postgres import PG_BIN_DIRS, ThrowawayPostgres, free_port, wait_until


@pytest.fixture(scope="module")
def postgres():
    if not PG_BIN_DIRS:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's programs (initdb, pg_ctl) are missing: .ci/run installs postgresql.")
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are missing: apt-get install postgresql")
    instance = ThrowawayPostgres()
    try:
        instance.create()
        yield instance
    finally:
        instance.remove()


@pytest.fixture(scope="module")
def server(postgres):
    """gunicorn with one worker, debug off, on the throwaway database: one
    worker, so that every request goes through the same persistent connection."""
    folder = Path(tempfile.mkdtemp(prefix="portal-faults-"))
    env = {
        **os.environ,
        "DATABASE_URL": postgres.url,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DJANGO_DEBUG": "0",
        "DJANGO_CONN_MAX_AGE": "60",
        "PORTAL_CACHE_DIR": str(folder),
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "--error-logfile", str(folder / "gunicorn.log")],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get(base + "/robots.txt") is not None, "gunicorn")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def get(url):
    """(status, headers, text), or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()
    except (urllib.error.URLError, ConnectionError):
        return None


class Pages:
    """Addresses never asked before, so that the page cache cannot answer."""

    numbers = itertools.count()

    def __init__(self, base):
        self.base = base

    def fresh(self, path="/thematiques/"):
        return get(f"{self.base}{path}?essai={next(self.numbers)}")


def test_a_stale_connection_is_replaced_when_the_database_restarts(server, postgres):
    pages = Pages(server)
    assert pages.fresh()[0] == 200  # the worker now holds a connection

    postgres.stop()
    postgres.start()

    # The first request after the restart already succeeds: the dead connection
    # is found by the health check and replaced, not used and failed.
    assert pages.fresh()[0] == 200


def test_visitors_get_a_french_503_while_the_database_is_down_then_the_site_recovers(server, postgres):
    pages = Pages(server)
    assert pages.fresh("/poles/")[0] == 200

    postgres.stop()
    try:
        for path in ("/thematiques/", "/poles/", "/territoires/"):
            status, headers, text = pages.fresh(path)
            assert status == 503, path
            assert "Service momentanément indisponible" in text
            assert "Erreur 503" in text
            assert '<html lang="fr"' in text
            html5lib.HTMLParser(strict=True).parse(text)
            assert headers["Retry-After"] == "30"
            assert "no-store" in headers["Cache-Control"]
            for leak in ("Traceback", "OperationalError", "psycopg", f":{postgres.port}", "connection"):
                assert leak not in text, leak
        status, headers, text = pages.fresh("/api/poles/")
        assert (status, headers["Content-Type"], headers["Retry-After"]) == (503, "application/json", "30")
        assert json.loads(text)["detail"].startswith("Service momentanément indisponible")
    finally:
        postgres.start()

    for path in ("/thematiques/", "/poles/", "/territoires/"):
        assert pages.fresh(path)[0] == 200, path


def test_pages_in_the_page_cache_are_still_served_while_the_database_is_down(server, postgres):
    address = f"{server}/thematiques/?avant-panne={next(Pages.numbers)}"
    assert get(address)[0] == 200  # rendered, and stored

    postgres.stop()
    try:
        status, headers, _ = get(address)
    finally:
        postgres.start()

    assert (status, headers["X-Cache"]) == (200, "HIT")


@pytest.mark.parametrize("command", ["backup_content", "restore_content"])
def test_backup_and_restore_say_in_french_that_the_database_is_down(postgres, tmp_path, command):
    env = {**os.environ, "DATABASE_URL": postgres.url, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    folder = tmp_path / "sauvegarde"
    if command == "restore_content":
        folder.mkdir()
        (folder / "contenu.json").write_text("[]")
        digest = hashlib.sha256(b"[]").hexdigest()
        manifest = {"format": 1, "created_at": "2026-01-01", "migrations": [], "counts": {},
                    "sha256": {"contenu.json": digest}}
        (folder / "manifeste.json").write_text(json.dumps(manifest))
    postgres.stop()
    try:
        done = subprocess.run([sys.executable, "manage.py", command, str(folder)], cwd=settings.BASE_DIR,
                              env=env, capture_output=True, text=True, timeout=60)
    finally:
        postgres.start()

    assert done.returncode == 1
    assert "a échoué" in done.stderr and "Traceback" not in done.stderr
    if command == "backup_content":
        assert list(folder.iterdir()) == []
