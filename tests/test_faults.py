"""The site under gunicorn when its PostgreSQL stops and comes back: a French
503 page meanwhile, and recovery without restarting anything.

A throwaway PostgreSQL instance is created for the module (initdb in a
temporary folder, its own port), since the shared one cannot be stopped. As
root (CI), PostgreSQL refuses to run: it then runs as the `postgres` user.
Without PostgreSQL's programs the test is skipped, except under CI=true.
"""
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import html5lib
import pytest
from django.conf import settings

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda path: int(path.parent.name))


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(ready, what, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not ready after {timeout} s")


class ThrowawayPostgres:
    """A PostgreSQL instance of its own, in a temporary folder, that a test may stop."""

    def __init__(self, bin_dir):
        self.bin_dir = bin_dir
        self.port = free_port()
        # Not under pytest's temporary folders: the postgres user cannot enter them.
        self.folder = Path(tempfile.mkdtemp(prefix="portal-faults-pg-"))
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.folder, "postgres")
        self.url = f"postgres://portal@127.0.0.1:{self.port}/portal"

    def run(self, program, *args):
        command = [str(self.bin_dir / program), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder, timeout=60)

    def create(self):
        self.run("initdb", "-D", "data", "-U", "portal", "--auth=trust", "-N", "-E", "UTF8", "--locale=C.UTF-8")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "portal", "portal")

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", "data", "-w", "-l", "log", "-o", options, "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", "data", "-w", "-m", mode, "stop")

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres():
    if not PG_BIN_DIRS:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL's programs (initdb, pg_ctl) are missing: .ci/run installs postgresql.")
        pytest.skip("PostgreSQL's programs (initdb, pg_ctl) are missing: apt-get install postgresql")
    instance = ThrowawayPostgres(PG_BIN_DIRS[-1])
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
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
                   cwd=settings.BASE_DIR, env=env, check=True, capture_output=True, timeout=120)
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
            for leak in ("Traceback", "OperationalError", "psycopg", f"127.0.0.1:{postgres.port}", "connection"):
                assert leak not in text, leak
    finally:
        postgres.start()

    for path in ("/thematiques/", "/poles/", "/territoires/"):
        assert pages.fresh(path)[0] == 200, path
