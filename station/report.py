"""The station's KPI report for a period: one dict (for --json) and a text table.

    report = build_report(store, config, since, until)
    print(render_text(report))
"""
from __future__ import annotations

from datetime import datetime

from station import kpi


def build_report(store, config, since: float, until: float) -> dict:
    min_n, k = config.privacy.min_n, config.privacy.k_floor
    offset = utc_offset_s(config, since)
    counts = store.score_counts(since, until)
    totals = store.response_totals(since, until)
    entrance_lines = [line.name for line in config.vision.lines if line.entrance]
    traffic = store.entries(since, until, entrance_lines)
    cases = store.case_totals(since, until)
    median_s, p90_s = kpi.handling_time(cases["handling_s"])

    by_visitor = store.scores_by_visitor(since, until)
    footfall = store.visitor_mix(since, until)
    known = {seg: c for seg, c in by_visitor.items() if seg[0] is not None and seg[1] is not None}
    known_footfall = {seg: n for seg, n in footfall.items()
                      if seg[0] is not None and seg[1] is not None}
    demographics = kpi.suppress_small_cells(
        {f"{a}/{g}": n for (a, g), n in sorted(known_footfall.items())}, k)
    nps_by_age = {}
    for (age, gender), c in sorted(known.items(), key=lambda kv: str(kv[0])):
        merged = nps_by_age.setdefault(age, [0] * 11)
        for i, v in enumerate(c):
            merged[i] += v
    by_hour = store.scores_by_bucket(since, until, offset, "hour")
    by_day = store.scores_by_bucket(since, until, offset, "day")
    entries_by_hour = store.entries_by_hour(since, until, offset, entrance_lines)

    return {
        "station": config.station.path,
        "since": iso_local(since, config), "until": iso_local(until, config),
        "timezone": config.station.timezone,
        "min_n": min_n, "k_floor": k,
        "responses": totals["responses"], "complete": totals["complete"],
        "no_presence": totals["no_presence"], "linked_to_visitor": totals["linked"],
        "nps": kpi.nps_from_counts(counts, min_n).as_dict(),
        "score_distribution": counts,
        "csat": kpi.csat_from_counts(store.answer_counts("csat", since, until)).__dict__,
        "ces": kpi.ces_from_counts(store.answer_counts("ces", since, until)).__dict__,
        "entries": traffic["entries"], "exits": traffic["exits"],
        "participation_rate": kpi.participation_rate(totals["responses"], traffic["entries"]),
        "cases_opened": cases["opened"], "cases_resolved": cases["resolved"],
        "complaint_rate": kpi.complaint_rate(cases["opened"], totals["responses"]),
        "handling_time_median_s": median_s, "handling_time_p90_s": p90_s,
        "nps_by_hour": {h: _nps_cell(c, min_n) for h, c in sorted(by_hour.items())},
        "nps_by_day": {d: _nps_cell(c, min_n) for d, c in sorted(by_day.items())},
        "entries_by_hour": entries_by_hour,
        "visits": sum(footfall.values()),
        "demographics": demographics,
        "nps_by_age_bracket": {a: _nps_cell(c, min_n) if sum(c) >= k else
                               {"n": None, "nps": None, "ci": None,
                                "reason": f"fewer than {k} respondents (k-anonymity floor)"}
                               for a, c in nps_by_age.items()},
        "nps_post_stratified": kpi.post_stratified_nps(known, known_footfall, min_n).as_dict(),
    }


def _nps_cell(counts, min_n) -> dict:
    r = kpi.nps_from_counts(counts, min_n)
    return {"n": r.n, "nps": r.nps if r.shown else None, "ci": [r.ci_low, r.ci_high]
            if r.shown else None, "reason": r.reason}


def utc_offset_s(config, ts: float) -> float:
    return datetime.fromtimestamp(ts, config.tz).utcoffset().total_seconds()


def iso_local(ts: float, config) -> str:
    return datetime.fromtimestamp(ts, config.tz).isoformat(timespec="seconds")


def render_text(r: dict) -> str:
    nps = r["nps"]
    lines = [f"CX report  {r['station']}  {r['since']} .. {r['until']} ({r['timezone']})", ""]

    def row(name, value):
        lines.append(f"  {name:<28} {value}")

    row("responses", f"{r['responses']} ({r['complete']} complete, {r['no_presence']} with "
                     f"nobody at the kiosk, {r['linked_to_visitor']} linked to a visitor)")
    if nps["shown"]:
        row("NPS", f"{nps['nps']:+.1f}  (95 % CI {nps['ci_low']:+.1f} .. {nps['ci_high']:+.1f}, "
                   f"n={nps['n']})")
        row("promoters/passives/detr.", f"{nps['promoter_share']:.1f} % / "
                                       f"{nps['passive_share']:.1f} % / {nps['detractor_share']:.1f} %")
    else:
        row("NPS", f"hidden: {nps['reason']}")
    ps = r["nps_post_stratified"]
    row("NPS, footfall-weighted", f"{ps['nps']:+.1f} (n={ps['n']})" if ps["shown"]
        else f"hidden: {ps['reason']}")
    row("scores 0..10", " ".join(str(c) for c in r["score_distribution"]))
    row("CSAT (% 4-5 of 5)", _fmt(r["csat"]["value"], "{:.1f} %") + f"  n={r['csat']['n']}")
    row("CES (mean of 7)", _fmt(r["ces"]["value"], "{:.2f}") + f"  n={r['ces']['n']}")
    row("entries / exits (camera)", f"{r['entries']} / {r['exits']}")
    row("participation rate", _fmt(r["participation_rate"], "{:.1f} %"))
    row("detractor cases", f"{r['cases_opened']} opened, {r['cases_resolved']} resolved")
    row("complaint rate", _fmt(r["complaint_rate"], "{:.1f} %"))
    row("handling time median/p90", f"{_fmt(r['handling_time_median_s'], '{:.0f} s')} / "
                                    f"{_fmt(r['handling_time_p90_s'], '{:.0f} s')}")
    row("visits (camera)", r["visits"])
    if r["nps_by_hour"]:
        lines += ["", "  NPS by local hour (n):"]
        for hour, cell in r["nps_by_hour"].items():
            value = f"{cell['nps']:+.0f}" if cell["nps"] is not None else "  -"
            lines.append(f"    {hour}h  {value:>5}  (n={cell['n']})")
    if r["demographics"]:
        lines += ["", f"  Visitors by age/gender (cells under {r['k_floor']} suppressed):"]
        for cell, n in r["demographics"].items():
            lines.append(f"    {cell:<16} {n if n is not None else '<' + str(r['k_floor'])}")
    return "\n".join(lines)


def _fmt(value, pattern) -> str:
    return "-" if value is None else pattern.format(value)
