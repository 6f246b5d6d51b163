"""The server's start-up rules, checked in a fresh process as an operator would meet them."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_check(tmp_path, **env):
    environment = {key: value for key, value in os.environ.items() if not key.startswith("DJANGO_")}
    environment.update(env, DJANGO_SETTINGS_MODULE="portal.settings", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=environment, capture_output=True, text=True
    )


def test_production_without_secret_key_refuses_to_start_with_a_clear_message(tmp_path):
    result = run_check(tmp_path, DJANGO_DEBUG="0")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY est obligatoire" in result.stderr


def test_debug_mode_starts_without_secret_key(tmp_path):
    assert run_check(tmp_path, DJANGO_DEBUG="1").returncode == 0


def test_production_with_secret_key_starts(tmp_path):
    assert run_check(
        tmp_path, DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 50, DJANGO_ALLOWED_HOSTS="example.org").returncode == 0
