"""Read side of the station DB: aggregates for the report and the admin screen.

Aggregation happens in SQL (one pass over an indexed time range), so a dashboard over a
million responses stays fast; the KPI maths in `station.kpi` works on the resulting counts.
Local-time buckets use the UTC offset given by the caller (the station's zone at the start
of the period).
"""
from __future__ import annotations

import json

from station.store.records import Case
from station.alerts import Alert
from station.targets import Target


class Queries:
    db = None  # sqlite3.Connection, set by Store

    def score_counts(self, since: float, until: float) -> list[int]:
        """How many responses gave each NPS score 0..10."""
        counts = [0] * 11
        for score, n in self.db.execute(
                "SELECT nps, count(*) FROM responses WHERE ts >= ? AND ts < ? GROUP BY nps",
                (since, until)):
            counts[score] = n
        return counts

    def answer_counts(self, column: str, since: float, until: float) -> dict[int, int]:
        """Counts per value of `csat` or `ces` (answered ones only)."""
        if column not in ("csat", "ces"):
            raise ValueError(f"unknown answer column {column!r}")
        return dict(self.db.execute(
            f"SELECT {column}, count(*) FROM responses WHERE ts >= ? AND ts < ? "
            f"AND {column} IS NOT NULL GROUP BY {column}", (since, until)).fetchall())

    def response_totals(self, since: float, until: float) -> dict:
        n, complete, no_presence, linked = self.db.execute(
            "SELECT count(*), coalesce(sum(complete), 0), coalesce(sum(presence = 'no_presence'), 0), "
            "coalesce(sum(presence = 'linked'), 0) FROM responses WHERE ts >= ? AND ts < ?",
            (since, until)).fetchone()
        return {"responses": n, "complete": complete, "no_presence": no_presence,
                "linked": linked}

    def scores_by_bucket(self, since: float, until: float, utc_offset_s: float,
                         bucket: str) -> dict[str, list[int]]:
        """Score counts per local 'hour' (00..23), 'day' (YYYY-MM-DD) or 'weekday' (0=Sun)."""
        fmt = {"hour": "%H", "day": "%Y-%m-%d", "weekday": "%w"}[bucket]
        out: dict[str, list[int]] = {}
        for key, score, n in self.db.execute(
                "SELECT strftime(?, ts + ?, 'unixepoch') AS k, nps, count(*) FROM responses "
                "WHERE ts >= ? AND ts < ? GROUP BY k, nps", (fmt, utc_offset_s, since, until)):
            out.setdefault(key, [0] * 11)[score] = n
        return out

    def scores_by_visitor(self, since: float, until: float) -> dict[tuple, list[int]]:
        """Score counts per (age_bracket, gender) of the linked visitor (None when unknown)."""
        out: dict[tuple, list[int]] = {}
        for age, gender, score, n in self.db.execute(
                "SELECT v.age_bracket, v.gender, r.nps, count(*) FROM responses r "
                "LEFT JOIN visits v ON v.id = r.visit_id WHERE r.ts >= ? AND r.ts < ? "
                "GROUP BY 1, 2, 3", (since, until)):
            out.setdefault((age, gender), [0] * 11)[score] = n
        return out

    def entries(self, since: float, until: float, lines: list[str] | None = None) -> dict:
        """Entries/exits counted by the cameras, from roll-ups plus not-yet-rolled crossings,
        on `lines` (default: the entrance lines, so a person seen by two cameras, or crossing
        an inner line, is one entry)."""
        line_filter, args = "", []
        lines = self._entrance_default(lines)
        if lines is not None:
            if not lines:
                return {"entries": 0, "exits": 0}
            line_filter = f" AND line IN ({','.join('?' * len(lines))})"
            args = list(lines)
        rolled_until = self.db.execute("SELECT max(minute) + 60 FROM traffic").fetchone()[0] or 0
        a = self.db.execute(
            "SELECT coalesce(sum(entries), 0), coalesce(sum(exits), 0) FROM traffic "
            "WHERE minute >= ? AND minute < ?" + line_filter, [since, until, *args]).fetchone()
        b = self.db.execute(
            "SELECT coalesce(sum(direction = 'in'), 0), coalesce(sum(direction = 'out'), 0) "
            "FROM crossings WHERE ts >= max(?, ?) AND ts < ?" + line_filter,
            [since, rolled_until, until, *args]).fetchone()
        return {"entries": a[0] + b[0], "exits": a[1] + b[1]}

    def entries_by_hour(self, since: float, until: float, utc_offset_s: float,
                        lines: list[str] | None = None) -> dict[str, int]:
        line_filter = ""
        args: list = [utc_offset_s, since, until]
        lines = self._entrance_default(lines)
        if lines is not None:
            line_filter = f" AND line IN ({','.join('?' * len(lines))})" if lines else " AND 0"
            args += list(lines)
        return dict(self.db.execute(
            "SELECT strftime('%H', minute + ?, 'unixepoch') AS h, sum(entries) FROM traffic "
            "WHERE minute >= ? AND minute < ?" + line_filter + " GROUP BY h", args).fetchall())

    def _entrance_default(self, lines):
        if lines is not None:
            return lines
        entrances = getattr(self, "entrance_lines", None)    # None: every line is an entrance
        return None if entrances is None else sorted(entrances)

    def visit_rows(self, since: float, until: float) -> list[dict]:
        """Visits that ended in the period: dwell per zone and estimated attributes."""
        return [{"id": i, "entered_at": e, "left_at": l, "dwell": json.loads(d),
                 "age_bracket": a, "gender": g}
                for i, e, l, d, a, g in self.db.execute(
                    "SELECT id, entered_at, left_at, dwell, age_bracket, gender FROM visits "
                    "WHERE left_at >= ? AND left_at < ?", (since, until))]

    def visit_estimates(self, since: float, until: float) -> tuple[list[float], list[list[float]]]:
        """(p_female, age_probs) of the visits that ended in the period with a face estimate:
        what the corrected shares (station/shares.py) are computed from."""
        rows = self.db.execute(
            "SELECT p_female, age_probs FROM visits WHERE left_at >= ? AND left_at < ? "
            "AND p_female IS NOT NULL AND age_probs IS NOT NULL", (since, until)).fetchall()
        return [p for p, _ in rows], [json.loads(a) for _, a in rows]

    def visitor_mix(self, since: float, until: float) -> dict[tuple, int]:
        """Footfall by (age_bracket, gender) from visits, unknowns included as None: the
        visits of the cameras that count entries (`footfall_cameras`), so a shopper the kiosk
        camera sees again is not a second visitor in the mix."""
        cameras = getattr(self, "footfall_cameras", None)
        where, args = "", []
        if cameras is not None:
            where = f" AND (camera IS NULL OR camera IN ({','.join('?' * len(cameras))}))"
            args = sorted(cameras)
        return {(a, g): n for a, g, n in self.db.execute(
            "SELECT age_bracket, gender, count(*) FROM visits WHERE left_at >= ? AND left_at < ?"
            + where + " GROUP BY 1, 2", (since, until, *args))}

    def cases(self, since: float, until: float, open_only: bool = False,
              limit: int = 500) -> list[Case]:
        """Detractor cases, newest first, each with its complaint (contact details included:
        for the manager's case list only)."""
        sql = (f"SELECT {_CASE_COLUMNS} FROM cases c LEFT JOIN complaints k ON k.case_id = c.id "
               f"WHERE c.opened_at >= ? AND c.opened_at < ?")
        if open_only:
            sql += " AND c.resolved_at IS NULL"
        rows = self.db.execute(sql + " ORDER BY c.opened_at DESC LIMIT ?", (since, until, limit))
        return [_case(row) for row in rows]

    def case(self, case_id: str) -> Case | None:
        row = self.db.execute(
            f"SELECT {_CASE_COLUMNS} FROM cases c LEFT JOIN complaints k ON k.case_id = c.id "
            f"WHERE c.id = ?", (case_id,)).fetchone()
        return _case(row) if row else None

    def scores_by_first_visit(self, since: float, until: float) -> dict[str, list[int]]:
        """Score counts of the shoppers who answered the first-visit question: 'new' (first
        visit) and 'returning'; those who skipped it or were not asked are in neither."""
        out = {"new": [0] * 11, "returning": [0] * 11}
        for first, score, n in self.db.execute(
                "SELECT first_visit, nps, count(*) FROM responses WHERE ts >= ? AND ts < ? "
                "AND first_visit IS NOT NULL GROUP BY 1, 2", (since, until)):
            out["new" if first else "returning"][score] = n
        return out

    def complaint_totals(self, since: float, until: float) -> dict:
        """Complaints lodged in the period, how many asked to be contacted, and the handling
        time (s) of each one handled: from the complaint to its case's resolution."""
        lodged, contact, resolved = self.db.execute(
            "SELECT count(*), coalesce(sum(CASE WHEN k.contact_name IS NOT NULL OR k.contact "
            "IS NOT NULL THEN 1 ELSE 0 END), 0), count(c.resolved_at) FROM complaints k "
            "JOIN cases c ON c.id = k.case_id WHERE k.ts >= ? AND k.ts < ?",
            (since, until)).fetchone()
        durations = [max(0.0, r[0]) for r in self.db.execute(
            "SELECT c.resolved_at - k.ts FROM complaints k JOIN cases c ON c.id = k.case_id "
            "WHERE k.ts >= ? AND k.ts < ? AND c.resolved_at IS NOT NULL", (since, until))]
        return {"complaints": lodged, "with_contact": contact, "resolved": resolved,
                "handling_s": durations}

    def case_totals(self, since: float, until: float) -> dict:
        opened, resolved = self.db.execute(
            "SELECT count(*), count(resolved_at) FROM cases WHERE opened_at >= ? AND opened_at < ?",
            (since, until)).fetchone()
        durations = [r[0] for r in self.db.execute(
            "SELECT resolved_at - opened_at FROM cases WHERE opened_at >= ? AND opened_at < ? "
            "AND resolved_at IS NOT NULL", (since, until))]
        return {"opened": opened, "resolved": resolved, "handling_s": durations}

    def targets(self) -> dict[str, Target]:
        """The current target per KPI."""
        return {kpi: Target(kpi, value, direction, period) for kpi, value, direction, period
                in self.db.execute("SELECT kpi, value, direction, period FROM targets")}

    def target(self, kpi: str) -> Target | None:
        row = self.db.execute("SELECT kpi, value, direction, period FROM targets WHERE kpi = ?",
                              (kpi,)).fetchone()
        return Target(*row) if row else None

    def last_config_target(self, kpi: str) -> Target | None:
        """The target the station's config last applied on `kpi` (None: never)."""
        row = self.db.execute(
            "SELECT kpi, new_value, new_direction, new_period FROM target_changes "
            "WHERE kpi = ? AND source = 'config' ORDER BY id DESC LIMIT 1", (kpi,)).fetchone()
        return Target(*row) if row else None

    def target_changes(self, kpi: str | None = None) -> list[dict]:
        """The audit of target changes, oldest first: time, source, who, old and new."""
        cols = ("kpi", "ts", "source", "who", "old_value", "old_direction", "old_period",
                "new_value", "new_direction", "new_period", "outbox_seq")
        sql = f"SELECT {', '.join(cols)} FROM target_changes"
        rows = self.db.execute(sql + " WHERE kpi = ? ORDER BY id" if kpi else sql + " ORDER BY id",
                               (kpi,) if kpi else ())
        return [dict(zip(cols, row)) for row in rows]

    def detractor_reasons(self, since: float, until: float) -> tuple[int, dict[str, int]]:
        """Detractor responses in the period, and how many of them gave each reason."""
        detractors = self.db.execute(
            "SELECT count(*) FROM responses WHERE nps <= 6 AND ts >= ? AND ts < ?",
            (since, until)).fetchone()[0]
        reasons = dict(self.db.execute(
            "SELECT j.value, count(DISTINCT r.id) FROM responses r, json_each(r.reasons) j "
            "WHERE r.nps <= 6 AND r.ts >= ? AND r.ts < ? GROUP BY j.value", (since, until)))
        return detractors, reasons

    def alerts(self, state: str | None = None, limit: int = 200) -> list[Alert]:
        """Alerts, newest activity first; `state` 'open', 'acknowledged' or 'resolved'."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts"
        rows = self.db.execute(sql + " WHERE state = ? ORDER BY last_seen DESC LIMIT ?",
                               (state, limit)) if state else \
            self.db.execute(sql + " ORDER BY last_seen DESC LIMIT ?", (limit,))
        return [_alert(row) for row in rows]

    def alert(self, alert_id: str) -> Alert | None:
        row = self.db.execute(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?",
                              (alert_id,)).fetchone()
        return _alert(row) if row else None

    def health(self) -> dict[str, dict]:
        return {c: {"ts": ts, **json.loads(d)}
                for c, ts, d in self.db.execute("SELECT component, ts, data FROM health")}

    def camera_health(self) -> dict[str, dict]:
        """Each camera's health row by camera id (`camera_health`)."""
        return camera_health(self.health())

    def setting(self, key: str, default=None):
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def table_counts(self) -> dict[str, int]:
        tables = ["responses", "cases", "complaints", "visits", "crossings", "traffic",
                  "presence", "outbox"]
        return {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    # -- kiosk (read-only) ---------------------------------------------------------------------
    def response_exists(self, response_id: str) -> bool:
        """Whether a response with this id is committed (a retry after an ambiguous commit)."""
        return self.db.execute("SELECT 1 FROM responses WHERE id = ?",
                               (response_id,)).fetchone() is not None

    def recent_responses(self, limit: int = 100) -> list[dict]:
        """The newest responses as stored, newest first (admin check, tests, support)."""
        cols = ("id", "ts", "nps", "csat", "ces", "reasons", "comment", "language", "complete",
                "presence", "visit_id", "outbox_seq", "first_visit")
        rows = self.db.execute(f"SELECT {', '.join(cols)} FROM responses "
                               f"ORDER BY ts DESC, rowid DESC LIMIT ?", (limit,))
        out = [dict(zip(cols, row)) for row in rows]
        for row in out:
            row["reasons"] = json.loads(row["reasons"])
            row["complete"] = bool(row["complete"])
        return out

    def response_day_summary(self, since: float, until: float, utc_offset_s: float,
                             max_rowid: int | None = None,
                             after_rowid: int | None = None) -> list[dict]:
        """Per local day and linked visitor's age bracket, in one pass: score counts 0..10,
        CSAT 1..5 and CES 1..7 counts, score counts of first-visit and returning shoppers,
        totals. Days are local epoch days
        (``(ts + utc_offset_s) // 86400``). With `after_rowid`, only rows inserted after that
        rowid (up to `max_rowid`) are read, whatever their time: a dashboard adds what is new
        to the days it already summed instead of re-reading them."""
        sums = ", ".join([f"sum(r.nps = {i})" for i in range(11)] +
                         [f"coalesce(sum(r.csat = {i}), 0)" for i in range(1, 6)] +
                         [f"coalesce(sum(r.ces = {i}), 0)" for i in range(1, 8)] +
                         [f"coalesce(sum(r.first_visit = {f} AND r.nps = {i}), 0)"
                          for f in (1, 0) for i in range(11)])
        where, args = _rowid_window("r", since, until, "ts", max_rowid, after_rowid)
        rows = self.db.execute(
            f"SELECT CAST((r.ts + ?) / 86400 AS INTEGER) AS day, v.age_bracket, {sums}, "
            f"count(*), sum(r.complete), sum(r.presence = 'no_presence'), "
            f"sum(r.presence = 'linked') FROM responses r LEFT JOIN visits v "
            f"ON r.visit_id IS NOT NULL AND v.id = r.visit_id "
            f"WHERE {where} GROUP BY 1, 2", (utc_offset_s, *args))
        out = []
        for day, age, *n in rows:
            out.append({"day": day, "age_bracket": age, "scores": list(n[0:11]),
                        "csat": dict(zip(range(1, 6), n[11:16])),
                        "ces": dict(zip(range(1, 8), n[16:23])),
                        "first_visit": {"new": list(n[23:34]), "returning": list(n[34:45])},
                        "responses": n[45], "complete": n[46], "no_presence": n[47],
                        "linked": n[48]})
        return out

    def case_day_summary(self, since: float, until: float, utc_offset_s: float,
                         max_rowid: int | None = None,
                         after_rowid: int | None = None) -> dict:
        """Per local day of opening: cases opened, resolved, and the handling times (s).
        `after_rowid`/`max_rowid` as in `response_day_summary`."""
        where, args = _rowid_window("c", since, until, "opened_at", max_rowid, after_rowid)
        out: dict[int, dict] = {}
        for day, opened, resolved in self.db.execute(
                f"SELECT CAST((c.opened_at + ?) / 86400 AS INTEGER), count(*), "
                f"count(c.resolved_at) FROM cases c WHERE {where} GROUP BY 1",
                (utc_offset_s, *args)):
            out[day] = {"opened": opened, "resolved": resolved, "handling_s": []}
        for day, duration in self.db.execute(
                f"SELECT CAST((c.opened_at + ?) / 86400 AS INTEGER), "
                f"c.resolved_at - c.opened_at FROM cases c WHERE {where} "
                f"AND c.resolved_at IS NOT NULL", (utc_offset_s, *args)):
            out[day]["handling_s"].append(duration)
        return out

    def latest_rowids(self) -> dict[str, int]:
        """The newest rowid of `responses` and `cases` (0 when empty): a dashboard's mark."""
        return {t: self.db.execute(f"SELECT coalesce(max(rowid), 0) FROM {t}").fetchone()[0]
                for t in ("responses", "cases")}

    def dwell_counts(self, since: float, until: float, edges_s: list[float]) -> list[int]:
        """Visits that ended in the period, counted per visit-length bin [edges[i], edges[i+1]);
        longer than the last edge goes in the last bin."""
        cases = " ".join(f"WHEN d < {float(hi)} THEN {i}" for i, hi in enumerate(edges_s[1:]))
        counts = [0] * (len(edges_s) - 1)
        for b, n in self.db.execute(
                f"SELECT CASE {cases} ELSE {len(counts) - 1} END AS b, count(*) FROM "
                f"(SELECT left_at - entered_at AS d FROM visits WHERE left_at >= ? "
                f"AND left_at < ?) GROUP BY b", (since, until)):
            counts[b] = n
        return counts


def camera_health(health: dict[str, dict]) -> dict[str, dict]:
    """The cameras' rows of `Store.health()` by camera id: cx-vision writes 'vision:<id>'; a
    row 'vision' (a station from before several cameras) is the camera 'main'."""
    out = {}
    for component, data in health.items():
        if component == "vision":
            out.setdefault("main", data)
        elif component.startswith("vision:"):
            out[component[len("vision:"):]] = data
    return out


def _rowid_window(alias, since, until, ts_column, max_rowid, after_rowid):
    """WHERE clause: new rows by rowid (no time filter, so the rowid index is used), or a
    time range optionally capped at `max_rowid`."""
    if after_rowid is not None:
        return (f"{alias}.rowid > ? AND {alias}.rowid <= ?",
                [after_rowid, max_rowid if max_rowid is not None else 2 ** 62])
    where, args = f"{alias}.{ts_column} >= ? AND {alias}.{ts_column} < ?", [since, until]
    if max_rowid is not None:
        where += f" AND {alias}.rowid <= ?"
        args.append(max_rowid)
    return where, args


_ALERT_COLUMNS = ("id, kind, severity, subject, first_seen, last_seen, count, state, "
                  "context, note, changed_by")


def _alert(row) -> Alert:
    return Alert(*row[:8], json.loads(row[8]), *row[9:])


_CASE_COLUMNS = ("c.id, c.response_id, c.opened_at, c.nps, c.reasons, c.comment, "
                 "c.resolved_at, c.resolution_note, k.id, k.ts, k.problem, k.contact_name, "
                 "k.contact")


def _case(row) -> Case:
    i, rid, opened, nps, reasons, comment, resolved, note, kid, kts, problem, name, contact = row
    complaint = None if kid is None else {"id": kid, "ts": kts, "problem": problem,
                                          "contact_name": name, "contact": contact}
    return Case(i, rid, opened, nps, json.loads(reasons), comment, resolved, note, complaint)
