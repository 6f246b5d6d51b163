"""import_spreadsheet and export_spreadsheet with the database down: one French
line and exit code 1, never a Python traceback."""
import os
import subprocess
import sys

import pytest
from django.conf import settings

from tests.test_health import closed_port


@pytest.mark.parametrize("command, arguments, message", [
    ("import_spreadsheet", ["projets.csv", "--model", "projects"], "rien n'a été importé"),
    ("import_spreadsheet", ["projets.csv", "--model", "projects", "--dry-run"], "rien n'a été importé"),
    ("export_spreadsheet", ["--model", "projects", "--format", "csv"], "rien n'a été exporté"),
])
def test_spreadsheet_commands_say_in_french_that_the_database_is_down(tmp_path, command, arguments, message):
    (tmp_path / "projets.csv").write_text("slug,titre\niter,ITER\n", encoding="utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test",
           "DATABASE_URL": f"postgres://portal:x@127.0.0.1:{closed_port()}/portal"}
    arguments = [str(tmp_path / argument) if argument.endswith(".csv") else argument for argument in arguments]

    done = subprocess.run([sys.executable, "manage.py", command, *arguments], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert f"La base de données ne répond pas : {message}." in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
