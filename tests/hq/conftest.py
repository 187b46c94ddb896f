"""HQ fixtures: a real PostgreSQL server for the session, and `hq_location`, which runs a test
once on an SQLite file and once on a fresh PostgreSQL database."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_server import PgServer, pg_bindir     # noqa: E402

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server():
    if pg_bindir() is None:
        pytest.skip("no PostgreSQL binaries (initdb, pg_ctl): install the postgresql package")
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A new, empty database on the session's server."""
    return pg_server.new_database(f"hq_test_{next(_names)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_location(request, tmp_path):
    """Where a test's HQ database lives: an SQLite path or a PostgreSQL URL."""
    if request.param == "sqlite":
        return tmp_path / "hq.db"
    return request.getfixturevalue("pg_url")
