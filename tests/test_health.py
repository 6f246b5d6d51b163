"""/sante/: what a supervisor polls. 200 when the database and the cache answer,
503 naming the part that failed, never cached, no detail given away."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from poles import cache

BASE_DIR = Path(__file__).resolve().parent.parent


def closed_port():
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dead_redis(settings):
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
               "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}
    settings.CACHES = {**settings.CACHES, "default": backend, "content-generation": backend}
    yield
    cache._unavailable_until = 0.0
    cache._bump_pending = False


def test_health_answers_200_when_database_and_cache_answer(client, db):
    response = client.get("/sante/")
    assert response.status_code == 200
    assert response.json() == {"base": "ok", "cache": "ok"}
    assert "no-cache" in response["Cache-Control"] and "X-Cache" not in response


def test_health_is_never_served_from_the_cache(client, db):
    client.get("/sante/")
    assert "X-Cache" not in client.get("/sante/")


def test_health_answers_503_naming_the_cache_when_redis_is_down(client, db, dead_redis):
    response = client.get("/sante/")
    assert response.status_code == 503
    assert response.json() == {"base": "ok", "cache": "en panne"}
    assert "redis" not in response.content.decode().lower()


def test_health_stays_outside_the_language_prefix(client, db):
    assert client.get("/en/sante/").status_code == 404


def test_health_answers_503_naming_the_database_when_it_is_down(tmp_path):
    """A real server process whose database is a PostgreSQL address where nothing listens."""
    script = (
        "import django; django.setup();"
        "from django.test import Client;"
        "r = Client().get('/sante/');"
        "print(r.status_code, r.content.decode())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings_test",
        "DATABASE_URL": f"postgres://portal:x@127.0.0.1:{closed_port()}/portal",
        "PORTAL_CACHE_DIR": str(tmp_path),
    }
    env.pop("REDIS_URL", None)
    done = subprocess.run([sys.executable, "-c", script], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    status, body = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {"base": "en panne", "cache": "ok"}
    assert "127.0.0.1" not in body and "postgres" not in body.lower()
