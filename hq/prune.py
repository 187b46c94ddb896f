"""`cx-hq prune`: HQ's retention, per event type ([retention] in the HQ config), run daily by
systemd/cx-hq-prune.timer.

    cx-hq prune --config hq.toml            # delete what is older than its type's days
    cx-hq prune --config hq.toml --dry-run  # count it only
    cx-hq prune --config hq.toml --json

An event goes when it is older than its type's days (by its own time, ts) and its seq lies
below its station's acknowledged mark: the delivery bookkeeping (marks, gaps, the event id
each ack names at the mark) never changes, and a pruned event that a station resends later
is known by its seq as delivered already (hq/db.py), not stored again. Each station's latest
target per KPI and latest state of each alert stay whatever their age: they are the current
state the report shows. Dead letters go after [retention] dead_letters days.
Each station is pruned in its own short transaction, so receivers keep committing meanwhile.
"""
from __future__ import annotations

import json
import sys
import time

from station import events

# State kept whatever its age: (view, the key whose latest seq per station is current).
_LATEST = {"target": ("targets", "kpi"), "alert": ("alerts", "alert_id")}


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("prune", help="delete events past their [retention] days",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config ([retention])")
    p.add_argument("--dry-run", action="store_true", help="count what would go, delete nothing")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from hq.config import load_hq_config
    from hq.db import HqDb, HqDbError
    from station.config import ConfigError
    try:
        config = load_hq_config(args.config)
        db = HqDb.for_config(config.database)
    except (ConfigError, HqDbError) as exc:
        print(f"cx-hq prune: {exc}", file=sys.stderr)
        return 2
    try:
        counts = prune(db, config.retention, time.time(), dry_run=args.dry_run)
    finally:
        db.close()
    if args.json:
        print(json.dumps(counts))
    else:
        verb = "would delete" if args.dry_run else "deleted"
        parts = [f"{n} {kind}" for kind, n in counts.items() if n]
        print(f"cx-hq prune: {verb} {', '.join(parts) or 'nothing'}")
    return 0


def prune(db, retention, now: float, dry_run: bool = False) -> dict[str, int]:
    """Delete (or count) what [retention] lets go; returns {event type | dead_letters: n}."""
    counts: dict[str, int] = {}
    days = retention.days()
    if days and db.backend == "sqlite":
        _temp_views(db, [t for t in days if t in _LATEST])
    stations = [row[0] for row in db.db.execute("SELECT station FROM stations ORDER BY station")]
    for type_, n_days in days.items():
        cutoff = now - n_days * 86400
        where, params = _old_events(type_, cutoff)
        total = 0
        for station in stations:
            if dry_run:
                total += db.db.execute(f"SELECT count(*) FROM events WHERE {where}",
                                       (*params, station, station)).fetchone()[0]
                continue
            with db.transaction() as con:
                total += con.execute(f"DELETE FROM events WHERE {where}",
                                     (*params, station, station)).rowcount
        counts[type_] = total
    if retention.dead_letters:
        cutoff = now - retention.dead_letters * 86400
        if dry_run:
            counts["dead_letters"] = db.db.execute(
                "SELECT count(*) FROM dead_letters WHERE received_at < ?", (cutoff,)).fetchone()[0]
        else:
            counts["dead_letters"] = db.db.execute(
                "DELETE FROM dead_letters WHERE received_at < ?", (cutoff,)).rowcount
    return counts


def _old_events(type_: str, cutoff: float) -> tuple[str, list]:
    """WHERE clause (then station, station as parameters) of one station's prunable events."""
    where = ("type = ? AND ts_epoch < ? AND station = ? AND seq < "
             "(SELECT acked_seq FROM stations s WHERE s.station = ?)")
    if type_ in _LATEST:
        view, key = _LATEST[type_]
        where += (f" AND seq NOT IN (SELECT max(seq) FROM {view} v "
                  f"WHERE v.station = events.station GROUP BY v.{key})")
    return where, [type_, cutoff]


def _temp_views(db, types: list[str]) -> None:
    """SQLite keeps the typed views out of the file: the pruner's connection makes its own."""
    from hq.views import VIEWS, _STORE_SQL
    for type_ in types:
        view = events.TYPES[type_].VIEW
        db.db.execute(f"CREATE TEMP VIEW IF NOT EXISTS {view} AS " +
                      VIEWS[view].format(store=_STORE_SQL))
