"""station/store/sqlite.py: opening and migrating a WAL file, from several processes at once."""
import multiprocessing

from station.store import sqlite

MIGRATIONS = ["CREATE TABLE IF NOT EXISTS t (x INTEGER, gone TEXT);",
              lambda db: sqlite.drop_column(db, "t", "gone"),
              "CREATE TABLE IF NOT EXISTS u (y INTEGER);"]


def _open_and_migrate(path, results):
    try:
        db = sqlite.connect(path, busy_timeout_ms=10_000, synchronous="FULL")
        sqlite.migrate(db, MIGRATIONS)
        results.put(db.execute("PRAGMA journal_mode").fetchone()[0])
    except Exception as exc:                 # noqa: BLE001 (what the test reports)
        results.put(repr(exc))


def test_processes_creating_one_database_at_once_all_open_it(tmp_path):
    """Two HQ receivers started together used to see 'database is locked' on the WAL switch,
    and could both apply one migration: one of them died at start about 1 run in 8."""
    ctx = multiprocessing.get_context("fork")
    outcomes = []
    for i in range(80):
        results = ctx.Queue()
        procs = [ctx.Process(target=_open_and_migrate, args=(tmp_path / f"{i}.db", results))
                 for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(30)
        outcomes += [results.get(timeout=5) for _ in procs]
    assert set(outcomes) == {"wal"}, [o for o in outcomes if o != "wal"][:3]
