"""A real PostgreSQL server for tests and benches: initdb in a temporary folder, pg_ctl start
on a free port with its unix socket in that folder, stopped (and deleted) after.

    server = PgServer().start()
    url = server.new_database("hq1")     # postgresql://postgres@/hq1?host=...&port=...
    server.stop()

initdb refuses to run as root, so as root the server runs as the unprivileged user `nobody`
(through setpriv); the tests connect over the unix socket with trust authentication, which
only the socket's folder (ours) can reach.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
from pathlib import Path


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl live: pg_config's answer, else the newest Debian version."""
    found = shutil.which("pg_config")
    if found:
        try:
            bindir = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True,
                                         check=True).stdout.strip())
            if (bindir / "initdb").exists():
                return bindir
        except (OSError, subprocess.CalledProcessError):
            pass
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, durable: bool = False):
        """durable=False turns fsync off (tests); benches keep PostgreSQL's durable default.
        The folder is a fresh one in /tmp: `nobody` must reach it (pytest's tmp_path is
        private to root) and the socket's path must stay under the 107 bytes allowed."""
        import tempfile
        self.folder = Path(tempfile.mkdtemp(prefix="cx-pg-", dir="/tmp"))
        self.data = self.folder / "data"
        self.socket_dir = self.folder / "run"
        self.port = free_port()
        self.durable = durable
        self.bindir = pg_bindir()
        self._started = False

    def _as_owner(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            raise RuntimeError("running as root and setpriv is missing: initdb refuses root")
        return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]

    def _run(self, *args: str, timeout: float = 120) -> str:
        proc = subprocess.run(self._as_owner() + list(args), capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "LC_ALL": "C"})
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed ({proc.returncode}):\n"
                               f"{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        return proc.stdout

    def start(self) -> "PgServer":
        if self.bindir is None:
            raise RuntimeError("no PostgreSQL binaries (initdb) on this machine")
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        self.data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            for path in (self.folder, self.data, self.socket_dir):
                os.chown(path, 65534, 65534)
        os.chmod(self.folder, 0o755)
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
        options = (f"-p {self.port} -c listen_addresses='' "
                   f"-c unix_socket_directories='{self.socket_dir}' -c max_connections=200 "
                   f"-c shared_buffers=64MB")
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.folder / "server.log"), "-o", options, "-w", "-t", "60", "start")
        self._started = True
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@/{database}?host={self.socket_dir}&port={self.port}"

    def new_database(self, name: str) -> str:
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}"')
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "-t", "60", "stop", timeout=90)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

