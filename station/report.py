"""The station's KPI report for a period: one dict (for --json) and a text table.

    report = build_report(store, config, since, until)
    print(render_text(report))
"""
from __future__ import annotations

from datetime import datetime

from station import kpi
from station.shares import calibration_or_none, period_shares, share_text
from station.conversion import camera_conversion, pos_conversion
from station.dwell import visit_length, zone_dwell
from station.handcount import calibration
from station.occupancy import occupancy, opening_before
from station.scorecard import Figure, build_scorecard, nps_cell, nps_figure
from station.trends import build_trends
from station.wording import quantity


def build_report(store, config, since: float, until: float) -> dict:
    min_n, k = config.privacy.min_n, config.privacy.k_floor
    offset = utc_offset_s(config, since)
    counts = store.score_counts(since, until)
    totals = store.response_totals(since, until)
    entrance_lines = config.vision.entrance_lines
    traffic = store.entries(since, until, entrance_lines)
    # the manager's hand counts: applied to entries (so participation and conversion) only
    # when switched on, and then every figure it touched is labelled (`counter`)
    counter = calibration(store)
    entries = counter.correct(traffic["entries"])
    cases = store.case_totals(since, until)
    by_first_visit = store.scores_by_first_visit(since, until)
    card = build_scorecard(
        score_counts=counts, csat_counts=store.answer_counts("csat", since, until),
        ces_counts=store.answer_counts("ces", since, until), responses=totals["responses"],
        entries=round(entries), cases_opened=cases["opened"],
        handling_s=cases["handling_s"], min_n=min_n,
        complaints=store.complaint_totals(since, until), first_visit_scores=by_first_visit)

    by_visitor = store.scores_by_visitor(since, until)
    footfall = store.visitor_mix(since, until)
    known = {seg: c for seg, c in by_visitor.items() if seg[0] is not None and seg[1] is not None}
    known_footfall = {seg: n for seg, n in footfall.items()
                      if seg[0] is not None and seg[1] is not None}
    nps_by_age = dict(sorted(merge_counts(known, key=lambda seg: seg[0]).items()))
    by_hour = store.scores_by_bucket(since, until, offset, "hour")
    by_day = store.scores_by_bucket(since, until, offset, "day")
    entries_by_hour = {h: round(counter.correct(n)) for h, n in
                       store.entries_by_hour(since, until, offset, entrance_lines).items()}

    return {
        "station": config.station.path,
        "since": iso_local(since, config), "until": iso_local(until, config),
        "timezone": config.station.timezone,
        "min_n": min_n, "k_floor": k,
        **card.as_dict(),
        "complete": totals["complete"],
        "no_presence": totals["no_presence"], "linked_to_visitor": totals["linked"],
        "score_distribution": counts,
        "entries": traffic["entries"], "exits": traffic["exits"],
        # entries as used by participation and conversion: corrected when `counter` says so
        "entries_corrected": round(entries) if counter.applied else None,
        "counter": counter.as_dict(),
        "nps_by_hour": {h: nps_cell(c, min_n) for h, c in sorted(by_hour.items())},
        "nps_by_day": {d: nps_cell(c, min_n) for d, c in sorted(by_day.items())},
        "entries_by_hour": entries_by_hour,
        "visits": sum(footfall.values()),
        # Women's share and the age mix, corrected for the face models' measured confusion,
        # with 95 % intervals (station/shares.py); not the counts of hard labels, which are
        # biased towards 50/50 by every wrong call.
        "demographics": period_shares(calibration_or_none(), *store.visit_estimates(since, until), k),
        "nps_by_age_bracket": {a: segment_cell(c, min_n, k) for a, c in nps_by_age.items()},
        # Segments (issue 17): each behind the privacy floor (k) and the min-n rule.
        "nps_by_gender": {g: segment_cell(c, min_n, k)
                          for g, c in sorted(merge_counts(known, key=lambda seg: seg[1]).items())},
        "nps_by_age_gender": {f"{a}/{g}": segment_cell(c, min_n, k)
                              for (a, g), c in sorted(known.items())},
        # New vs returning shoppers, by their own answer (no face re-identification).
        "nps_by_first_visit": {seg: segment_cell(c, min_n, k)
                               for seg, c in by_first_visit.items()},
        "nps_by_weekday": {WEEKDAYS[int(d)]: nps_cell(c, min_n) for d, c in sorted(
            store.scores_by_bucket(since, until, offset, "weekday").items(),
            key=lambda kv: (int(kv[0]) + 6) % 7)},
        "participation_by_hour": {h: {"responses": sum(by_hour.get(h, [])),
                                      "entries": entries_by_hour.get(h, 0),
                                      "rate": kpi.participation_rate(sum(by_hour.get(h, [])),
                                                                     entries_by_hour.get(h, 0))}
                                  for h in sorted(set(by_hour) | set(entries_by_hour))},
        "nps_post_stratified": nps_figure(
            kpi.post_stratified_nps(known, known_footfall, min_n)).as_dict(),
        "conversion": conversion_figures(store, config, since, until, counter),
        # People in the store at the report's end, counted from that day's opening time.
        "occupancy": local_times(occupancy(store, until, opening_ts(config, until)), config,
                                 "peak_at", "since", "until"),
        # Dwell per zone and the whole visit's length, each titled for what it is.
        "zone_dwell": {zone: _without_buckets(f) for zone, f in
                       zone_dwell(store, since, until, config.tz).items()},
        "visit_length": _without_buckets(visit_length(store, since, until, config.tz)),
        # Against target: the days and weeks up to the report's end (not bound to --since).
        "targets": build_trends(store, config, until),
        # Alerts are the station's state now, not the period's: every unresolved one.
        "alerts": unresolved_alerts(store, config),
    }


def opening_ts(config, at: float) -> float:
    """The store's opening time ([station] opening_time) on the local day of `at`; before it
    opens, the previous day's."""
    return opening_before(at, config.station.opening_time, config.tz)


def local_times(figures: dict, config, *keys: str) -> dict:
    """`figures` with each of `keys` (epoch seconds or None) also as local ISO time."""
    return {**figures, **{f"{k}_local": iso_local(figures[k], config)
                          for k in keys if figures.get(k) is not None}}


def _without_buckets(figure: dict) -> dict:
    """A dwell figure for the report: the whole period (by_day stays, by_hour is long)."""
    return {k: v for k, v in figure.items() if k != "by_hour"}


WEEKDAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")     # strftime('%w') order


def segment_cell(counts: list[int], min_n: int, k: int) -> dict:
    """A demographic segment's NPS: suppressed under k respondents (k-anonymity), then the
    min-n rule."""
    if sum(counts) < k:
        return Figure(None, None, reason=f"fewer than {k} respondents (k-anonymity floor)"
                      ).as_dict()
    return nps_cell(counts, min_n)


def merge_counts(by_segment: dict, key) -> dict:
    out: dict = {}
    for segment, counts in by_segment.items():
        merged = out.setdefault(key(segment), [0] * 11)
        for i, c in enumerate(counts):
            merged[i] += c
    return out


def conversion_figures(store, config, since: float, until: float, counter=None) -> dict:
    """Conversion from each source the station has (POS file, checkout zone), named; with
    the hand-count correction applied to its entries when `counter` is applied."""
    pos = pos_conversion(store, since, until, config.tz, correct=counter)
    out = {"pos": {k: v for k, v in pos.items() if k != "hours"} if pos["hours"] else None,
           "camera": camera_conversion(store, config, since, until)}
    return out


def unresolved_alerts(store, config) -> list[dict]:
    """Every open or acknowledged alert, newest activity first, as plain data."""
    return [_alert(a, config) for a in store.alerts() if a.state != "resolved"]


def _alert(alert, config) -> dict:
    return {"id": alert.id, "kind": alert.kind, "severity": alert.severity,
            "subject": alert.subject, "state": alert.state, "count": alert.count,
            "first_seen": iso_local(alert.first_seen, config),
            "last_seen": iso_local(alert.last_seen, config), "context": alert.context,
            "note": alert.note, "changed_by": alert.changed_by}


def utc_offset_s(config, ts: float) -> float:
    return datetime.fromtimestamp(ts, config.tz).utcoffset().total_seconds()


def iso_local(ts: float, config) -> str:
    return datetime.fromtimestamp(ts, config.tz).isoformat(timespec="seconds")


def render_text(r: dict) -> str:
    lines = [f"CX report  {r['station']}  {r['since']} .. {r['until']} ({r['timezone']})", ""]

    def row(name, value):
        lines.append(f"  {name:<28} {value}")

    row("responses", f"{r['responses']} ({r['complete']} complete, {r['no_presence']} with "
                     f"nobody at the kiosk, {r['linked_to_visitor']} linked to a visitor)")
    nps = r["nps"]
    if nps["value"] is not None:
        low, high = nps["interval"]
        row("NPS", f"{nps['value']:+.1f}  (95 % CI {low:+.1f} .. {high:+.1f}, n={nps['n']})")
        row("promoters/passives/detr.", " / ".join(
            f"{r[key]['value']:.1f} %" for key in ("promoter_share", "passive_share",
                                                   "detractor_share")))
    else:
        row("NPS", f"hidden: {nps['reason']}")
    ps = r["nps_post_stratified"]
    row("NPS, footfall-weighted", _figure(ps, "{:+.1f}"))
    row("scores 0..10", " ".join(str(c) for c in r["score_distribution"]))
    row("CSAT (% 4-5 of 5)", _figure(r["csat"], "{:.1f} %"))
    row("CES (mean of 7)", _figure(r["ces"], "{:.2f}"))
    row("entries / exits (camera)", f"{r['entries']} / {r['exits']}")
    counter = r["counter"]
    corrected = f" [{counter['label']}]" if counter["corrected"] else ""
    if counter["corrected"]:
        row("entries, corrected", f"{r['entries_corrected']}{corrected}")
    if counter["checks"]:
        row("counter check", f"{quantity(len(counter['checks']), 'hand counts')}: camera "
                             f"{counter['camera']} / hand {counter['hand']}, error "
                             + (f"{100 * counter['error']:+.1f} %" if counter["error"] is not None
                                else "-"))
    row("participation rate", _figure(r["participation_rate"], "{:.1f} %", with_n=False)
        + corrected)
    for source, name in (("pos", "conversion (POS)"), ("camera", "conversion (checkout zone)")):
        c = r["conversion"][source]
        if c is not None:
            row(name, _conversion_text(c) + (corrected if c.get("corrected") else ""))
    row("returning shoppers", _share(r["returning_share"], "first-visit answers"))
    for seg, title in (("new", "NPS, first visit"), ("returning", "NPS, returning")):
        row(title, _figure(r["nps_by_first_visit"][seg], "{:+.1f}"))
    row("detractor cases", f"{r['cases_opened']} opened, {r['cases_resolved']} resolved")
    median, p90 = r["handling_median_s"], r["handling_p90_s"]
    row("case handling median/p90", f"{median['value']:.0f} s / {p90['value']:.0f} s"
        if median["value"] is not None else f"hidden: {median['reason']}")
    row("complaints", f"{r['complaints']} ({r['complaints_with_contact']} asking to be "
                      f"contacted)")
    row("complaints per response", _share(r["complaint_rate"], "responses"))
    row("complaints per entry", _figure(r["complaint_rate_per_entry"], "{:.2f} %",
                                        with_n=False))
    median, p90 = r["complaint_handling_median_s"], r["complaint_handling_p90_s"]
    row("complaint handling med/p90", f"{median['value']:.0f} s / {p90['value']:.0f} s "
        f"({quantity(median['n'], 'handled complaints')})"
        if median["value"] is not None else f"none: {median['reason']}")
    row("visits (camera)", r["visits"])
    occ = r["occupancy"]
    row("in the store now (camera)", f"{occ['people']} (since opening at "
        f"{occ['since_local'][11:16]}: peak {occ['peak']}"
        + (f" at {occ['peak_at_local'][11:16]})" if occ["peak_at"] else ")"))
    for name, f in [("visit length", r["visit_length"])] + [
            (f"dwell in {zone}", f) for zone, f in r["zone_dwell"].items()]:
        if f["visits"]:
            row(name, f"median {f['median_s'] / 60:.1f} min, 9 in 10 under "
                      f"{f['p90_s'] / 60:.1f} min ({quantity(f['visits'], 'visits')})")
    if r["nps_by_hour"]:
        lines += ["", "  NPS by local hour (n):"]
        for hour, cell in r["nps_by_hour"].items():
            value = f"{cell['value']:+.0f}" if cell["value"] is not None else "  -"
            lines.append(f"    {hour}h  {value:>5}  (n={cell['n']})")
    if r["participation_by_hour"]:
        lines += ["", "  Participation by local hour (responses / camera entries):"]
        for hour, p in r["participation_by_hour"].items():
            rate = f"{p['rate']:.1f} %" if p["rate"] is not None else "-"
            lines.append(f"    {hour}h  {rate:>7}  ({p['responses']} / {p['entries']})")
    for key, title in (("nps_by_weekday", "NPS by weekday"), ("nps_by_gender", "NPS by gender"),
                       ("nps_by_age_gender", "NPS by age bracket and gender")):
        if r[key]:
            lines += ["", f"  {title} (n):"]
            for name, cell in r[key].items():
                value = f"{cell['value']:+.0f}" if cell["value"] is not None else "  -"
                shown = f"n={cell['n']}" if cell["n"] is not None else cell["reason"]
                lines.append(f"    {name:<14} {value:>5}  ({shown})")
    if r["targets"]:
        lines += ["", "  Against target (overall: the target's last 7 or 30 days; then per week "
                      "and per day, oldest first)", f"  {STATUS_KEY}"]
        for name, trend in r["targets"].items():
            lines += _target_lines(name, trend)
    if r["alerts"]:
        lines += ["", "  Unresolved alerts (newest first):", *alert_lines(r["alerts"])]
    lines += demographics_lines(r["demographics"])
    return "\n".join(lines)


DEMOGRAPHICS_REASONS = {"none": "no visitor with a face estimate",
                        "below_k": "too few visitors to show shares (privacy floor {k_floor})",
                        "no_calibration": "no demographics calibration (models/demographics.json)"}


def demographics_lines(d: dict) -> list[str]:
    """The corrected shares with their 95 % intervals, or why there are none."""
    title = f"  Visitors' demographics ({quantity(d['n'], 'visits')} with a face estimate)"
    if "reason" in d:
        return ["", f"{title}: {DEMOGRAPHICS_REASONS[d['reason']].format(**d)}"] if d["n"] else []
    women = next(s for s in d["gender"] if s["name"] == "female")
    return ["", f"{title}, corrected for the models' measured errors, 95 % interval:",
            f"    women          {share_text(women)}",
            *(f"    age {s['name']:<10} {share_text(s)}" for s in d["age"])]


def _conversion_text(c: dict) -> str:
    if c["rate"] is None:
        return f"none: {c['reason']}"
    buyers = c["transactions"] if c["source"] == "pos" else c["visits_at_checkout"]
    what = "transactions" if c["source"] == "pos" else "visits at checkout"
    text = f"{c['rate']:.1f} %"
    if c["interval"]:
        text += f" (95 % CI {c['interval'][0]:.1f} .. {c['interval'][1]:.1f})"
    text += f", {buyers} {what} / {quantity(c['entries'], 'entries')}"
    if c.get("hours_without_entries"):
        text += (f"; {quantity(c['hours_without_entries'], 'hours')} with sales but no "
                 f"entries left out")
    return text


def alert_lines(alerts: list[dict]) -> list[str]:
    return [f"    {a['severity']:<8} {a['kind']:<18} {a['subject']:<20} {a['state']}, "
            f"{quantity(a['count'], 'times')} "
            f"{a['first_seen']} .. {a['last_seen']}"
            + (f"; note: {a['note']}" if a.get("note") else "") for a in alerts]


STATUS_MARK = {"on_target": "+", "below_target": "-", "not_distinguishable": "~",
               "too_few_answers": "."}
STATUS_KEY = ("+ on target   - below target (its whole 95 % interval)   "
              "~ not distinguishable   . too few answers")


def _target_lines(name: str, trend: dict) -> list[str]:
    target, overall = trend["target"], trend["overall"]
    sign = ">=" if target["direction"] == "higher" else "<="
    if overall["value"] is None:
        figure = f"hidden: {overall['reason']}"
    else:
        low, high = overall["interval"] or (None, None)
        figure = f"{overall['value']:.1f}" + (f" (95 % CI {low:.1f} .. {high:.1f}, "
                                              f"n={overall['n']})" if low is not None else "")
    out = [f"    {name:<20} target {sign} {target['value']:g} a {target['period']}: "
           f"{overall['status'].replace('_', ' ')}, {figure}",
           f"    {'':<20} weeks {' '.join(STATUS_MARK[c['status']] for c in trend['by_week'])}"
           f"   days {' '.join(STATUS_MARK[c['status']] for c in trend['by_day'])}"]
    reasons = overall.get("detractor_reasons")
    if reasons:
        out.append(f"    {'':<20} top detractor reasons: " + ", ".join(
            f"{r['reason']} {r['count']} ({r['share']:.0f} %)" for r in reasons))
    return out


def _share(figure: dict, answers: str) -> str:
    """A share in percent with its 95 % interval and the answers it rests on."""
    if figure["value"] is None:
        return f"hidden: {figure['reason']}"
    text = f"{figure['value']:.1f} %"
    if figure["interval"]:
        text += f" (95 % CI {figure['interval'][0]:.1f} .. {figure['interval'][1]:.1f})"
    return text + f", {quantity(figure['n'], answers)}"


def _figure(figure: dict, pattern: str, with_n: bool = True) -> str:
    """A figure's value (and n), or why it is not there."""
    if figure["value"] is None:
        return f"hidden: {figure['reason']}"
    return pattern.format(figure["value"]) + (f"  n={figure['n']}" if with_n else "")
