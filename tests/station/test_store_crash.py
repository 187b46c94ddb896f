"""A writer killed with SIGKILL in the middle of a batch leaves a consistent station DB."""
from __future__ import annotations

import random
import signal
import sqlite3
import time

from station.store import Response, Store
from station_testlib import STATION, assert_seqs_contiguous, outbox_consistency, start_writer

BATCH = 20
T0 = 1_800_000_000.0


def _check(path) -> dict:
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts = outbox_consistency(db)
        assert_seqs_contiguous(db)
        # no batch is committed in part: each batch tag has exactly BATCH responses ...
        partial = db.execute("SELECT comment, count(*) FROM responses GROUP BY comment "
                             "HAVING count(*) != ?", (BATCH,)).fetchall()
        assert partial == [], f"partially committed batches: {partial[:5]}"
        # ... and BATCH visits (a batch's visits share its timestamp)
        partial = db.execute("SELECT entered_at, count(*) FROM visits GROUP BY entered_at "
                             "HAVING count(*) != ?", (BATCH,)).fetchall()
        assert partial == [], f"partially committed visit batches: {partial[:5]}"
        batches = db.execute("SELECT count(DISTINCT comment) FROM responses").fetchone()[0]
        visit_batches = db.execute("SELECT count(DISTINCT entered_at) FROM visits").fetchone()[0]
        assert batches == visit_batches
        # a resolved case's event comes after its opening event
        assert db.execute("SELECT count(*) FROM cases WHERE resolved_seq <= opened_seq"
                          ).fetchone()[0] == 0
        counts["batches"] = batches
        return counts
    finally:
        db.close()


def test_sigkill_in_the_middle_of_a_batch_leaves_a_consistent_db(tmp_path):
    path = tmp_path / "station.db"
    rng = random.Random(20261123)
    delays = [0.05, 0.15, 0.3, 0.5, 0.8] + [rng.uniform(0.02, 0.9) for _ in range(3)]
    previous = {"max_seq": 0, "batches": 0}
    for round_no, delay in enumerate(delays):
        # each round's simulated clock starts after the previous one's, as after a restart
        writer = start_writer(path, "--batches", 0, "--batch-size", BATCH, "--tag", f"r{round_no}",
                              "--seed", round_no, "--t0", T0 + round_no * 1e6)
        time.sleep(delay)
        assert writer.poll() is None, writer.stderr.read()       # still writing when killed
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        writer.stdout.close()
        writer.stderr.close()
        assert writer.returncode == -signal.SIGKILL

        counts = _check(path)
        # the new writer continued from max + 1 (contiguity) and did commit something
        assert counts["max_seq"] >= previous["max_seq"]
        assert counts["batches"] >= previous["batches"]
        previous = counts
    assert previous["batches"] >= 3               # the writers really did work between kills

    # a fresh writer (the store API in this process) continues from max + 1
    store = Store.open_path(path, station=STATION)
    last = store.outbox_status()["last_seq"]
    assert last == previous["max_seq"]
    store.append_response(Response(nps=9, ts=T0 + 1e8))
    assert store.pending_outbox(after_seq=last)[0].seq == last + 1
    store.close()
    db = sqlite3.connect(path)
    assert assert_seqs_contiguous(db) == last + 1
    db.close()


def test_without_the_batch_transaction_a_kill_does_leave_partial_batches(tmp_path):
    """Negative control: the batch check above can fail. Each write still commits atomically
    with its outbox row, but a batch of them does not."""
    path = tmp_path / "station.db"
    for round_no in range(6):
        writer = start_writer(path, "--batches", 0, "--batch-size", BATCH, "--no-transaction",
                              "--tag", f"r{round_no}", "--t0", T0 + round_no * 1e6)
        time.sleep(0.2 + 0.1 * round_no)
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
        writer.stdout.close()
        writer.stderr.close()
        db = sqlite3.connect(path)
        outbox_consistency(db)                   # single writes are still all-or-nothing
        assert_seqs_contiguous(db)
        partial = db.execute("SELECT count(*) FROM (SELECT comment FROM responses GROUP BY "
                             "comment HAVING count(*) != ?)", (BATCH,)).fetchone()[0]
        db.close()
        if partial:
            return
    raise AssertionError("six kills of a writer without batch transactions never hit a batch")
