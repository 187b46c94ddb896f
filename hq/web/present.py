"""The dashboard's figures as the text of table cells, in the reader's language.

    cells = stores_table(overview(db, config, now), say, "vi", now)
    cells.rows[0]["cells"][3].text        # '+32,1'

A page and its live updates use the same cells: the page renders them, and /api/live sends
{key: [text, sort, class, title]} for the page's script to put in place, so a figure can never
read differently after a refresh than on load.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from station.wording import number
from hq.web.words import say_known

DASH = "—"


@dataclass
class Cell:
    key: str
    text: str
    sort: float | str = ""
    cls: str = ""
    title: str = ""

    def live(self) -> list:
        return [self.text, self.sort, self.cls, self.title]


class Formats:
    """Numbers, intervals, ages and times in one language and time zone."""

    def __init__(self, say, lang: str, tz, now: float):
        self.say, self.lang, self.tz, self.now = say, lang, tz, now

    def num(self, value, decimals: int = 0) -> str:
        return DASH if value is None else number(value, self.lang, decimals)

    def signed(self, value, decimals: int = 1) -> str:
        if value is None:
            return DASH
        return ("+" if value > 0 else "") + number(value, self.lang, decimals)

    def pct(self, value, decimals: int = 1) -> str:
        return DASH if value is None else f"{number(value, self.lang, decimals)} %"

    def interval(self, interval, signed: bool = True, unit: str = "") -> str:
        if not interval:
            return DASH
        show = self.signed if signed else (lambda v: self.num(v, 1))
        return f"{show(interval[0])} … {show(interval[1])}{unit}"

    def nps(self, figure) -> Cell:
        if figure.value is None:
            return Cell("", self.say("hidden") if figure.n else DASH, -1000, "hidden",
                        figure.reason or "")
        return Cell("", self.signed(figure.value), figure.value, "", f"n = {figure.n}")

    def ago(self, ts) -> str:
        if ts is None:
            return DASH
        seconds = max(0.0, self.now - ts)
        for unit, size in ((("d", "ngày"), 86400), (("h", "giờ"), 3600), (("min", "phút"), 60)):
            if seconds >= size:
                n = self.num(seconds / size, 0 if seconds >= 10 * size else 1)
                word = unit[1] if self.lang == "vi" else unit[0]
                return f"{n} {word} trước" if self.lang == "vi" else f"{n} {word} ago"
        return "vừa xong" if self.lang == "vi" else "just now"

    def when(self, ts) -> str:
        if ts is None:
            return DASH
        return datetime.fromtimestamp(ts, self.tz).strftime("%Y-%m-%d %H:%M")

    def duration(self, seconds) -> str:
        if seconds is None:
            return DASH
        for unit, size in ((("d", "ngày"), 86400), (("h", "giờ"), 3600), (("min", "phút"), 60)):
            if seconds >= size:
                return f"{self.num(seconds / size, 1)} {unit[1] if self.lang == 'vi' else unit[0]}"
        return f"{self.num(seconds)} s"

    def settings(self, state) -> str:
        """What a station did with the settings HQ pushed (hq/stats.settings_state): the
        version applied, one pushed and not yet applied, a refusal with its key and reason."""
        state = state or {}
        pushed, applied, refused = state.get("pushed"), state.get("applied"), state.get("rejected")
        parts = []
        if applied is not None:
            parts.append(self.say("settings_applied", version=applied))
        if pushed is not None and pushed != applied and not (refused and
                                                              refused.get("version") == pushed):
            parts.append(self.say("settings_pending", version=pushed))
        if refused and (applied is None or (refused.get("version") or 0) > applied):
            parts.append(self.say("settings_refused", version=refused.get("version"),
                                  setting=refused.get("key"), reason=str(refused.get("reason"))[:200]))
        return "; ".join(parts) or DASH

    def kpi_value(self, kpi: str, value, interval=None) -> str:
        if kpi == "nps":
            return self.signed(value)
        if kpi == "ces":
            return self.num(value, 2)
        if kpi == "handling_median_s":
            return self.duration(value)
        return self.pct(value)

    def kpi_interval(self, kpi: str, interval) -> str:
        if not interval:
            return DASH
        if kpi == "nps":
            return self.interval(interval)
        if kpi == "ces":
            return f"{self.num(interval[0], 2)} … {self.num(interval[1], 2)}"
        if kpi == "handling_median_s":
            return f"{self.duration(interval[0])} … {self.duration(interval[1])}"
        return self.interval(interval, signed=False, unit=" %")


def _status_cell(key: str, f: Formats, row) -> Cell:
    count, online = row["station_count"], row["online"]
    if not count:
        return Cell(key, f.say("unknown"), -1, "st-unknown")
    state = "online" if online == count else "offline" if online == 0 else "partial"
    text = f.say("online") if state == "online" else f.say("offline")
    if state == "partial" or count > 1:
        text = f"{online}/{count} {f.say('online')}"
    return Cell(key, text, online / count, f"st-{state}")


def _target_cell(key: str, f: Formats, target) -> Cell:
    if target is None:
        return Cell(key, DASH, "", "", f.say("no_target"))
    status = target["status"] or "too_few_answers"
    return Cell(key, f"{f.kpi_value(target['kpi'], target['value'])} · {f.say(status)}",
                status, f"st-{status}")


def store_cells(f: Formats, row) -> list[Cell]:
    """One store's row of the stores table (also the figures atop its own page)."""
    s, card = row["store"], row["card"]
    nps = f.nps(card.nps)
    nps.key = f"{s}|nps"
    conversion = row["conversion"]
    alerts = row["alerts"]
    severe = {k: n for k, n in alerts["by_severity"].items() if n}
    health = []
    if row["missing"]:
        health.append(f.say("missing", n=f.num(row["missing"])))
    if row["dead_letters"]:
        health.append(f.say("dead", n=f.num(row["dead_letters"])))
    return [
        _status_cell(f"{s}|status", f, row),
        Cell(f"{s}|last_event", f.ago(row["last_event"]), row["last_event"] or 0, "",
             f.when(row["last_event"])),
        nps,
        Cell(f"{s}|ci", f.interval(card.nps.interval) if card.nps.value is not None else DASH,
             (card.nps.interval or (-1000,))[0]),
        _target_cell(f"{s}|target", f, row["nps_target"]),
        Cell(f"{s}|responses", f.num(row["responses"]), row["responses"]),
        Cell(f"{s}|participation", f.pct(card.participation_rate.value),
             card.participation_rate.value if card.participation_rate.value is not None else -1),
        Cell(f"{s}|entries", f.num(row["entries"]), row["entries"]),
        Cell(f"{s}|conversion", f.pct(conversion["rate"]) if conversion else DASH,
             conversion["rate"] if conversion and conversion["rate"] is not None else -1),
        Cell(f"{s}|open_cases", f.num(row["open_cases"]), row["open_cases"],
             "warn" if row["open_cases"] else "",
             f.duration(row["oldest_case_age_s"]) if row["oldest_case_age_s"] else ""),
        Cell(f"{s}|alerts", f.num(alerts["unresolved"]), alerts["unresolved"],
             "bad" if severe.get("critical") else "warn" if alerts["unresolved"] else "",
             ", ".join(f"{n} {k}" for k, n in severe.items())),
        Cell(f"{s}|backlog", f.num(row["backlog"]), row["backlog"] if row["backlog"] is not None
             else -1, "warn" if row["backlog"] else ""),
        Cell(f"{s}|health", ", ".join(health) or f.say("ok"), row["missing"] + row["dead_letters"],
             "warn" if health else "good"),
    ]


STORE_COLUMNS = ("status", "last_event", "nps", "ci95", "target", "responses", "participation",
                 "entries", "conversion", "open_cases", "alerts", "backlog", "health")


def flags(row) -> str:
    """Words the stores filter matches on: offline, below, alerts."""
    out = []
    if row["station_count"] and row["online"] < row["station_count"]:
        out.append("offline")
    if row["below_target"]:
        out.append("below")
    if row["alerts"]["unresolved"]:
        out.append("alerts")
    return " ".join(out)


def stores_table(ov, f: Formats) -> list[dict]:
    return [{"store": r["store"], "flags": flags(r), "cells": store_cells(f, r)}
            for r in ov["stores"]]


def chain_cards(ov, f: Formats) -> list[tuple[str, Cell, str]]:
    """(label, value, note) of the chain's headline figures."""
    c = ov["chain"]
    card = c["card"]
    nps = f.nps(card.nps)
    nps.key = "chain|nps"
    return [
        (f.say("nps"), nps, f.interval(card.nps.interval) if card.nps.value is not None
         else (card.nps.reason or "")),
        (f.say("responses"), Cell("chain|responses", f.num(c["responses"])), ""),
        (f.say("entries"), Cell("chain|entries", f.num(c["entries"])), ""),
        (f.say("participation"), Cell("chain|participation",
                                      f.pct(card.participation_rate.value)), ""),
        (f.say("stations_online"), Cell("chain|online", f"{c['online']}/{c['stations']}"), ""),
        (f.say("open_cases"), Cell("chain|open_cases", f.num(c["open_cases"])), ""),
        (f.say("alerts"), Cell("chain|alerts", f.num(c["alerts"])), ""),
    ]


LEAGUE_KPIS = ("nps", "csat", "participation_rate", "complaint_rate")


def league(ov, f: Formats) -> list[dict]:
    """Stores ranked by NPS (hidden ones last), with their other KPIs beside."""
    ranked = sorted(ov["stores"], key=lambda r: (r["card"].nps.value is None,
                                                 -(r["card"].nps.value or 0), r["store"]))
    out = []
    for rank, r in enumerate(ranked, 1):
        s, card = r["store"], r["card"]
        nps = f.nps(card.nps)
        nps.key = f"league|{s}|nps"
        conversion = r["conversion"]
        statuses = {t["kpi"]: t["status"] for t in r["targets"]}
        cells = [nps, Cell(f"league|{s}|ci", f.interval(card.nps.interval)
                           if card.nps.value is not None else DASH)]
        for kpi in LEAGUE_KPIS[1:]:
            figure = getattr(card, kpi)
            cells.append(Cell(f"league|{s}|{kpi}", f.kpi_value(kpi, figure.value),
                              figure.value if figure.value is not None else -1,
                              f"st-{statuses[kpi]}" if statuses.get(kpi) else "",
                              figure.reason or ""))
        cells.append(Cell(f"league|{s}|conversion", f.pct(conversion["rate"]) if conversion
                          else DASH, conversion["rate"] if conversion and conversion["rate"]
                          is not None else -1))
        cells.append(_target_cell(f"league|{s}|target", f, r["nps_target"]))
        out.append({"rank": rank if card.nps.value is not None else "", "store": s,
                    "cells": cells})
    return out


def below_target(ov, f: Formats) -> list[dict]:
    out = []
    for r in ov["stores"]:
        for t in r["below_target"]:
            out.append({"store": r["store"], "kpi": say_known(f.say, t["kpi"]),
                        "target": f.kpi_value(t["kpi"], t["value"]),
                        "figure": f.kpi_value(t["kpi"], t["figure"]["value"]),
                        "interval": f.kpi_interval(t["kpi"], t["figure"]["interval"]),
                        "n": f.num(t["figure"]["n"])})
    return out


def trend_rows(periods, f: Formats, prefix: str) -> list[list[Cell]]:
    rows = []
    for p in periods:
        card = p["card"]
        nps = f.nps(card.nps)
        nps.key = f"{prefix}|{p['label']}|nps"
        rows.append([
            Cell("", p["label"]), nps,
            Cell(f"{prefix}|{p['label']}|ci", f.interval(card.nps.interval)
                 if card.nps.value is not None else DASH),
            Cell(f"{prefix}|{p['label']}|responses", f.num(p["responses"])),
            Cell(f"{prefix}|{p['label']}|entries", f.num(p["entries"])),
            Cell(f"{prefix}|{p['label']}|participation", f.pct(card.participation_rate.value)),
        ])
    return rows


def live_map(*groups) -> dict[str, list]:
    """{key: [text, sort, class, title]} of every keyed cell in the given cell lists."""
    out = {}

    def walk(item):
        if isinstance(item, Cell):
            if item.key:
                out[item.key] = item.live()
        elif isinstance(item, dict):
            for v in item.values():
                walk(v)
        elif isinstance(item, (list, tuple)):
            for v in item:
                walk(v)
    walk(groups)
    return out
