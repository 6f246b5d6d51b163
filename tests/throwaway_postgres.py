"""A PostgreSQL instance of its own, in a temporary folder, that a test or a
benchmark may stop and start again: the shared one must never be stopped.

As root (CI), PostgreSQL refuses to run: it then runs as the `postgres` user.
Used by tests/test_faults.py and benchmarks/load_test.py.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

# PostgreSQL's programs as Debian installs them, the newest version last.
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
    """initdb, then start/stop on a free port of 127.0.0.1; user `portal`, no
    password (trust, loopback only), database `portal`. `durable=False` turns
    fsync off, for tests."""

    def __init__(self, durable=False):
        self.bin_dir = PG_BIN_DIRS[-1]
        self.durable = durable
        self.port = free_port()
        # Not under pytest's temporary folders: the postgres user cannot enter them.
        self.folder = Path(tempfile.mkdtemp(prefix="portal-pg-"))
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
        self.run(
            "initdb", "-D", "data", "-U", "portal", "--auth=trust", "-N", "-E", "UTF8", "--locale=C.UTF-8"
        )
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "portal", "portal")

    def start(self):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off"
        self.run("pg_ctl", "-D", "data", "-w", "-l", "log", "-o", options, "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", "data", "-w", "-m", mode, "stop")

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        shutil.rmtree(self.folder, ignore_errors=True)
