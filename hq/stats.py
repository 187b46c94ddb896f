"""`cx-hq stats`: is every station delivering, and is anything missing?

    cx-hq stats --config hq.toml            # one line per station
    cx-hq stats --config hq.toml --json     # the same as one JSON object (for monitoring)

Per station: events received, highest seq seen, the gap-free seq HQ acknowledged, missing seq
ranges, duplicates dropped, dead letters, the backlog the station last reported in its health
message, last seen, the online/offline status it announced (retained birth message / last
will), and the settings HQ pushed to it: the newest version pushed, the version the station
reports applied and, when it refused one, the key and reason.
"""
from __future__ import annotations

import json
import sqlite3
import time
from datetime import datetime, timezone

from hq.views import backend_of, open_for_reading, quiet_broken_pipe


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("stats", help="per-station delivery state of the HQ database",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("--config", required=True, help="the HQ's TOML config ([database] path)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    opened = open_for_reading(args, "stats")
    if opened is None:
        return 2
    _, db, _, _ = opened
    try:
        stats = collect(db)
    finally:
        db.close()
    try:
        print(json.dumps(stats, ensure_ascii=False) if args.json else render_text(stats),
              flush=True)
    except BrokenPipeError:
        return quiet_broken_pipe()
    return 0


def collect(db, now: float | None = None) -> dict:
    """Per-station delivery figures and the dead-letter totals, as plain data."""
    now = time.time() if now is None else now
    gaps: dict[str, list[list[int]]] = {}
    for station, lo, hi in db.execute("SELECT station, from_seq, to_seq FROM gaps "
                                      "ORDER BY station, from_seq"):
        gaps.setdefault(station, []).append([lo, hi])
    pushed = pushed_versions(db)
    stations = []
    for row in db.execute(
            "SELECT station, received, max_seq, acked_seq, duplicates, dead_letters, "
            "first_seen, last_seen, status, status_at, health FROM stations ORDER BY station"):
        (station, received, max_seq, acked_seq, duplicates, dead, first_seen, last_seen,
         status, status_at, health) = row
        ranges = gaps.get(station, [])
        health = _json_or_none(health)
        reported = health if isinstance(health, dict) else {}
        stations.append({
            "station": station,
            "received": received or 0,
            "max_seq": max_seq or 0,
            "acked_seq": acked_seq or 0,
            "gaps": ranges,
            "missing": sum(hi - lo + 1 for lo, hi in ranges),
            "duplicates": duplicates or 0,
            "dead_letters": dead or 0,
            "first_seen": _iso(first_seen),
            "last_seen": _iso(last_seen),
            "last_seen_ago_s": round(now - last_seen, 1) if last_seen else None,
            "status": status or "unknown",
            "status_at": _iso(status_at),
            # what the station itself last reported: events on its disk not yet acked by HQ
            "backlog": reported.get("backlog"),
            "oldest_unacked_age_s": reported.get("oldest_unacked_age_s"),
            "health": health,
            "settings": settings_state(pushed.get(station), reported.get("settings")),
        })
    total, unattributed = db.execute(
        "SELECT count(*), sum(CASE WHEN station IS NULL THEN 1 ELSE 0 END) "
        "FROM dead_letters").fetchone()
    reasons = dict(db.execute("SELECT reason, count(*) FROM dead_letters GROUP BY reason "
                              "ORDER BY count(*) DESC, reason LIMIT 20").fetchall())
    return {
        "generated_at": _iso(now),
        "stations": stations,
        "online": sum(s["status"] == "online" for s in stations),
        "offline": sum(s["status"] == "offline" for s in stations),
        "dead_letters": {"total": total, "unattributed": unattributed or 0,
                         "by_reason": reasons},
    }


def pushed_versions(db) -> dict[str, int]:
    """The newest settings version published to each station (none before any push; one the
    broker did not take is recorded, not counted)."""
    missing_table: tuple = (sqlite3.OperationalError,)
    if backend_of(db) == "postgresql":
        from psycopg.errors import UndefinedTable
        missing_table = (UndefinedTable,)
    try:
        return dict(db.execute("SELECT station, max(version) FROM settings_pushes "
                               "WHERE published_at IS NOT NULL GROUP BY station"))
    except missing_table:     # a database no cx-hq of this release has migrated yet
        return {}


def settings_state(pushed: int | None, reported) -> dict:
    """What HQ pushed against what the station reported in its health (station/
    remote_settings.py): applied version, and the refused push with its key and reason."""
    reported = reported if isinstance(reported, dict) else {}
    rejected = reported.get("rejected") if isinstance(reported.get("rejected"), dict) else None
    return {"pushed": pushed, "applied": reported.get("version"),
            "applied_at": reported.get("applied_at"),
            "rejected": rejected and {k: rejected.get(k) for k in ("version", "key", "reason")}}


def _settings_text(s: dict) -> str:
    if s["pushed"] is None and s["applied"] is None and not s["rejected"]:
        return "-"
    text = f"v{s['applied']}" if s["applied"] is not None else "none"
    if s["pushed"] is not None and s["pushed"] != s["applied"]:
        text += f" (pushed v{s['pushed']})"
    if s["rejected"]:
        r = s["rejected"]
        text += f", refused v{r['version']}: {r['key']}: {str(r['reason'])[:80]}"
    return text


def render_text(stats: dict) -> str:
    head = ("station", "status", "received", "max seq", "acked", "missing", "gaps", "dups",
            "dead", "backlog", "last seen", "settings")
    rows = [head]
    for s in stats["stations"]:
        gaps = ", ".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in s["gaps"][:3])
        if len(s["gaps"]) > 3:
            gaps += f" (+{len(s['gaps']) - 3} more)"
        rows.append((s["station"], s["status"], str(s["received"]), str(s["max_seq"]),
                     str(s["acked_seq"]), str(s["missing"]), gaps or "-", str(s["duplicates"]),
                     str(s["dead_letters"]),
                     "?" if s["backlog"] is None else str(s["backlog"]),
                     _ago(s["last_seen_ago_s"]), _settings_text(s["settings"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if not stats["stations"]:
        lines.append("(no station has delivered anything yet)")
    dl = stats["dead_letters"]
    lines.append("")
    lines.append(f"{len(stats['stations'])} stations: {stats['online']} online, "
                 f"{stats['offline']} offline; dead letters: {dl['total']} "
                 f"({dl['unattributed']} without a station)")
    for reason, n in dl["by_reason"].items():
        lines.append(f"  {n:>8}  {reason}")
    return "\n".join(lines)


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds") \
        .replace("+00:00", "Z")


def _json_or_none(text):
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return {"unparsed": str(text)[:200]}
