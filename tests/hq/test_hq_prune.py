"""`cx-hq prune` ([retention] at HQ) on SQLite and PostgreSQL: old events go, the delivery
bookkeeping stays right, the current targets stay, a resent pruned event is not stored again."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sync.envelope import Envelope
from hq.__main__ import main
from hq.config import HqRetentionSection
from hq.db import HqDb
from hq.prune import prune

DAY = 86400.0
NOW = 1_795_000_000.0
OLD, NEW = NOW - 40 * DAY, NOW - DAY
A, B = "acme/s1/k1", "acme/s2/k1"


def traffic(station, seq, ts_epoch, id_=None):
    return Envelope(station, seq, id_ or f"{station}-{seq}", "traffic", "2026-10-09T10:00:00Z",
                    ts_epoch, {"line": "door", "in": seq, "out": 0}, None)


def target(station, seq, ts_epoch, kpi, value):
    return Envelope(station, seq, f"{station}-{seq}", "target", "2026-10-09T10:00:00Z",
                    ts_epoch, {"kpi": kpi, "value": value, "direction": "higher",
                               "period": "week", "source": "config",
                               "changed_at": "2026-10-09T10:00:00Z"}, None)


def fill(db: HqDb) -> None:
    # A: 1..10 old traffic, 11..12 old targets (nps twice: 12 is current), 13..20 new traffic
    db.commit([traffic(A, s, OLD) for s in range(1, 11)] +
              [target(A, 11, OLD, "nps", 40), target(A, 12, OLD, "nps", 50)] +
              [traffic(A, s, NEW) for s in range(13, 21)], [], now=NOW)
    # B: old 1..10 but 5 never arrived: its mark is 4, and 6..10 lie above it
    db.commit([traffic(B, s, OLD) for s in range(1, 11) if s != 5], [], now=NOW)


def seqs(db, station):
    return [r[0] for r in db.db.execute("SELECT seq FROM events WHERE station = ? ORDER BY seq",
                                        (station,))]


def test_old_events_below_the_mark_go_and_the_bookkeeping_stays(hq_location):
    db = HqDb.open(hq_location)
    fill(db)
    acks_before = {s: db.commit([], [], now=NOW, healths={s: "{}"}).acks[s] for s in (A, B)}
    retention = HqRetentionSection(traffic=30, target=30)
    assert prune(db, retention, NOW, dry_run=True) == {"traffic": 13, "target": 1,
                                                       "dead_letters": 0}
    assert len(seqs(db, A)) == 20                                      # a dry run deletes nothing
    assert prune(db, retention, NOW) == {"traffic": 13, "target": 1, "dead_letters": 0}
    # A: below its mark (20), old traffic 1..10 and the replaced target 11 went
    assert seqs(db, A) == [12] + list(range(13, 21))
    # B: only 1..3 (below its mark 4; the event at the mark stays, its id is in every ack)
    assert seqs(db, B) == [4, 6, 7, 8, 9, 10]
    assert db.marks() == {A: 20, B: 4} and db.gaps(B) == [(5, 5)]
    for s in (A, B):
        assert db.commit([], [], now=NOW, healths={s: "{}"}).acks[s] == acks_before[s]
    # a station resending a pruned event: delivered already, not stored again
    again = db.commit([traffic(A, 3, OLD)], [], now=NOW)
    assert (again.inserted, again.duplicates) == (0, 1) and seqs(db, A)[0] == 12
    # the hole still fills and the mark moves on
    assert db.commit([traffic(B, 5, OLD)], [], now=NOW).marks == {B: 10}
    db.close()


def test_zero_days_keeps_everything_and_dead_letters_have_their_own_days(hq_location):
    from sync.envelope import Reject
    from hq.db import DeadLetter
    db = HqDb.open(hq_location)
    fill(db)
    db.commit([], [DeadLetter("x", Reject(b"old", "bad", None))], now=NOW - 100 * DAY)
    db.commit([], [DeadLetter("x", Reject(b"new", "bad", None))], now=NOW)
    assert prune(db, HqRetentionSection(), NOW) == {"dead_letters": 1}     # default: 90 days
    assert len(seqs(db, A)) == 20
    assert [r[0] for r in db.db.execute("SELECT payload FROM dead_letters")] == [b"new"]
    db.close()


def test_cx_hq_prune_reads_retention_from_the_config(hq_location, tmp_path, capsys):
    db = HqDb.open(hq_location)
    db.commit([traffic(A, s, 1_000_000_000.0 + s) for s in range(1, 6)], [], now=NOW)
    db.close()
    where = f'url = "{hq_location}"' if isinstance(hq_location, str) else \
        f'path = "{hq_location}"'
    config = tmp_path / "hq.toml"
    config.write_text(f"[database]\n{where}\n\n[retention]\ntraffic = 365\n", encoding="utf-8")
    assert main(["prune", "--config", str(config), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"traffic": 4, "dead_letters": 0}
    config.write_text(f"[database]\n{where}\n\n[retention]\ntraffic = -1\n", encoding="utf-8")
    assert main(["prune", "--config", str(config)]) == 2
    assert "retention.traffic" in capsys.readouterr().err


def test_every_event_type_has_its_retention_and_prunes_on_both(hq_location, tmp_path):
    """[retention] has a key per type of station/events.py TYPES (a type added there, e.g. the
    counter check's handcount, is pruned by its own days with no change at HQ); a key that is
    not a type is refused by name."""
    import dataclasses

    from hq.config import load_hq_config
    from station.config import ConfigError
    from station.events import TYPES
    keys = {f.name for f in dataclasses.fields(HqRetentionSection)}
    assert keys == set(TYPES) | {"dead_letters"} and "handcount" in keys
    config = tmp_path / "hq.toml"
    config.write_text("[retention]\n" + "".join(f"{t} = 30\n" for t in TYPES))
    retention = load_hq_config(config).retention
    assert retention.days() == {t: 30 for t in TYPES}
    config.write_text("[retention]\nhandcounts = 30\n")
    with pytest.raises(ConfigError, match="retention.handcounts"):
        load_hq_config(config)

    db = HqDb.open(hq_location)
    fill(db)
    count = {"action": "added", "correction": False, "checks": 1, "factor": None,
             "count": 12, "camera_count": 11}
    db.commit([Envelope(A, seq, f"{A}-{seq}", "handcount", "2026-10-09T10:00:00Z", ts, count,
                        None) for seq, ts in ((21, OLD), (22, NEW))] + [traffic(A, 23, NEW)],
              [], now=NOW)
    pruned = prune(db, retention, NOW)
    assert pruned["handcount"] == 1 and pruned["traffic"] == 13      # B: below its mark only
    assert set(pruned) == set(TYPES) | {"dead_letters"}
    assert 21 not in seqs(db, A) and 22 in seqs(db, A)
    db.close()


def test_the_systemd_timer_runs_the_prune_daily_and_catches_up():
    """(systemd-analyze verifies the units with the others: tests/systemd/test_units.py)"""
    units = Path(__file__).resolve().parents[2] / "systemd"
    service = (units / "cx-hq-prune.service").read_text(encoding="utf-8")
    timer = (units / "cx-hq-prune.timer").read_text(encoding="utf-8")
    assert "Type=oneshot" in service
    assert "ExecStart=/opt/cx-station/venv/bin/cx-hq prune --config /etc/cx-station/hq.toml" \
        in service
    assert "Persistent=true" in timer and "OnCalendar=" in timer
