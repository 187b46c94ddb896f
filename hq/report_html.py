"""The HQ report as one HTML page: inline CSS and inline SVG, no script, no external resource.

    html = render_html(build(db, config, since, until))      # hq/report.py builds the data

Every figure in a chart is also in a table beside it, so the page reads without the charts
(screen readers, printing in black and white, copying into a spreadsheet).
"""
from __future__ import annotations

from html import escape

from hq import charts

CSS = """
*{box-sizing:border-box}
body{font-family:"DejaVu Sans",Verdana,Arial,sans-serif;color:#222;margin:0;background:#f6f7f9;
 font-size:14px;line-height:1.45}
main{max-width:1180px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:30px 0 10px;padding-bottom:4px;border-bottom:2px solid #dde1e6}
h3{font-size:14px;margin:14px 0 6px}
.meta{color:#555;margin:0 0 14px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:14px 0}
.card{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 12px;flex:1 1 0;
 min-width:130px}
.card .v{font-size:24px;font-weight:bold}
.card .l{color:#555;font-size:12px}
.card .s{color:#555;font-size:12px}
table{border-collapse:collapse;background:#fff;border:1px solid #dde1e6;margin:6px 0 10px}
th,td{padding:5px 9px;border-bottom:1px solid #eceef1;text-align:right;vertical-align:top;
 white-space:nowrap}
td.why{text-align:left;white-space:normal}
th{background:#eef1f4;font-weight:bold;font-size:12px}
td.name,th.name{text-align:left}
td.hidden,td.sup{color:#8a8a8a;font-style:italic}
.note{color:#555;font-size:12px;max-width:900px}
.warn{background:#fff4e0;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px;margin:10px 0}
.grid{display:flex;flex-wrap:wrap;gap:10px}
.panel{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:8px}
svg.chart{max-width:100%;height:auto;font-family:inherit}
.small{font-size:12px}
td.st{text-align:left;font-weight:bold}
.st-on_target{color:#00704f}.st-below_target{color:#b34700}
.st-not_distinguishable{color:#7a6200}.st-too_few_answers{color:#8a8a8a;font-style:italic}
"""


def render_html(r: dict) -> str:
    parts = [_header(r), _overview(r), _stores_table(r), _store_kpis(r), _targets(r),
             _alerts(r), _nps_charts(r), _weekly(r), _traffic(r), _demographics(r), _cases(r),
             _complaints(r), _zone_dwell(r), _reasons(r),
             _completeness(r), _method(r)]
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(r['title'])}</title><style>{CSS}</style></head><body><main>"
            + "".join(parts) + "</main></body></html>")


# -- sections ----------------------------------------------------------------------------------
def _header(r):
    p = r["period"]
    if p["since"] or p["until"]:
        span = f"{_day(p['since']) or 'the first event'} to {_day(p['until']) or 'now'}"
    else:
        span = "all data"
    data = (f"events from {_day(p['first_event'])} to {_day(p['last_event'])}"
            if p["first_event"] else "no events in this period")
    return (f"<h1>{escape(r['title'])}</h1><p class=\"meta\">Period: {escape(span)} "
            f"({escape(data)}); times in {escape(r['timezone'])}; generated "
            f"{escape(r['generated_at'][:16].replace('T', ' '))}. "
            f"NPS, its group shares, CSAT, CES and the complaint rate are shown from "
            f"{r['min_n']} answers each; demographic cells under {r['k_floor']} visitors are "
            f"suppressed.</p>")


def _overview(r):
    a = r["all"]
    nps = a["nps"]
    cards = [
        ("NPS, all stores", _nps_text(nps),
         f"95 % CI {_ci_range(nps)}" if nps["value"] is not None else nps["reason"]),
        ("responses", f"{a['responses']:,}", f"{a['complete']:,} complete"),
        ("CSAT (4–5 of 5)", _pct(a["csat"]["value"]), _n_or_reason(a["csat"])),
        ("CES (mean of 1–7)", _num(a["ces"]["value"], 2), _n_or_reason(a["ces"])),
        ("entries (camera)", f"{a['entries']:,}", f"{a['visits']:,} visits tracked"),
        ("participation", _pct(a["participation_rate"]["value"]), "responses ÷ entries"),
        ("open cases", f"{a['open_cases']:,}",
         f"oldest {_duration(a['oldest_open_case_age_s'])}" if a["open_cases"] else "none"),
        ("unresolved alerts", f"{a['alerts']['unresolved']:,}",
         ", ".join(f"{n:,} {severity}" for severity, n in a["alerts"]["by_severity"].items()
                   if n) or "none"),
    ]
    return "<div class=\"cards\">" + "".join(
        f"<div class=\"card\"><div class=\"l\">{escape(l)}</div><div class=\"v\">{escape(v)}"
        f"</div><div class=\"s\">{escape(s)}</div></div>" for l, v, s in cards) + "</div>"


def _stores_table(r):
    head = ("store", "responses", "NPS", "95 % CI", "promoters", "passives", "detractors",
            "CSAT", "CES", "entries", "participation", "NPS reweighted to footfall")
    rows = []
    for s in r["stores"] + [r["all"]]:
        nps = s["nps"]
        strat = s["nps_post_stratified"]
        cls = " class=\"total\"" if s is r["all"] else ""
        nps_cell = (f"<td data-cell=\"nps|{escape(s['store'])}\">{_nps_text(nps)}</td>"
                    if nps["value"] is not None else
                    f"<td class=\"hidden\" data-cell=\"nps|{escape(s['store'])}\" "
                    f"title=\"{escape(nps['reason'])}\">hidden</td>")
        rows.append(
            f"<tr{cls}><td class=\"name\">{escape(s['store'])}</td><td>{s['responses']:,}</td>"
            f"{nps_cell}<td>{_ci_range(nps) if nps['value'] is not None else '–'}</td>"
            + "".join(_figure_cell(s[key], _pct, f"{key}|{s['store']}")
                      for key in ("promoter_share", "passive_share", "detractor_share", "csat"))
            + _figure_cell(s["ces"], lambda v: _num(v, 2), f"ces|{s['store']}")
            + f"<td>{s['entries']:,}</td><td>{_pct(s['participation_rate']['value'])}</td>"
            f"<td>{_nps_text(strat)}</td></tr>")
    hidden = [s for s in r["stores"] if s["nps"]["value"] is None]
    notes = "".join(f"<li><b>{escape(s['store'])}</b>: {escape(s['nps']['reason'])}</li>"
                    for s in hidden)
    return ("<h2>Stores</h2>" + _table(head, rows)
            + (f"<p class=\"note\">NPS hidden for:</p><ul class=\"note\">{notes}</ul>"
               if notes else "")
            + "<p class=\"note\">Participation = survey responses ÷ entries counted by the "
              "camera in the same period. The reweighted NPS gives each age bracket × gender "
              "the weight it has in the camera's footfall (only responses linked to a "
              "visitor; its interval uses Kish's effective n).</p>")


STATUS_WORDS = {"on_target": "on target", "below_target": "below target",
                "not_distinguishable": "not distinguishable", "too_few_answers": "too few answers"}
KPI_NAMES = {"nps": "NPS", "csat": "CSAT", "ces": "CES", "participation_rate": "participation",
             "complaint_rate": "complaint rate", "handling_median_s": "handling time (median)",
             "conversion": "conversion"}


def _targets(r):
    rows, differs = [], []
    for s in r["stores"]:
        for t in s["targets"]:
            rows.append(_target_row(s["store"], t))
            differs += [f"<li><b>{escape(o['station'])}</b> has {escape(_kpi_name(t['kpi']))} "
                        f"{escape(_target_text(t['kpi'], o))} ({escape(o['source'])}, "
                        f"{escape(_when(o['set_at']))})</li>" for o in t["differs"]]
    if not rows:
        return ("<h2>Targets</h2><p class=\"note\">No store has a KPI target yet (a station's "
                "[targets] config or its manager's Goals page sets them).</p>")
    head = ("store", "KPI", "target", "this period", "95 % CI", "n", "status", "set by", "set")
    without = [s["store"] for s in r["stores"] if not s["targets"]]
    return ("<h2>Targets</h2>" + _table(head, rows)
            + (f"<p class=\"note\">Kiosks of one store with another target than the one "
               f"judged (the one set last):</p><ul class=\"note\">{''.join(differs)}</ul>"
               if differs else "")
            + (f"<p class=\"note\">No targets: {escape(', '.join(without))}.</p>"
               if without else "")
            + "<p class=\"note\">Each target is judged here over this report's period (not "
              "the target's own week or month) with the station's rules: <b>on target</b> — "
              "the figure meets or beats it; <b>below target</b> — its whole 95 % interval "
              "is on the wrong side; <b>not distinguishable</b> — the figure misses it but "
              "the interval still holds it (the sample cannot tell a dip from noise); "
              f"<b>too few answers</b> — the figure is hidden (under {r['min_n']} answers "
              "for the survey figures).</p>")


def _target_row(store: str, t: dict) -> str:
    f = t["figure"]
    if f is None:
        figure = "<td class=\"hidden\" colspan=\"3\">not in this report</td>"
    elif f["value"] is None:
        figure = (f"<td class=\"hidden\" title=\"{escape(f['reason'] or '')}\">hidden</td>"
                  f"<td>–</td><td>{f['n']:,}</td>")
    else:
        ci = (" … ".join(_kpi_value(t["kpi"], v) for v in f["interval"])
              if f["interval"] else "–")
        figure = (f"<td>{_kpi_value(t['kpi'], f['value'])}</td><td>{ci}</td>"
                  f"<td>{f['n']:,}</td>")
    status = t["status"]
    word = STATUS_WORDS.get(status, "–") if status else "–"
    who = t["source"] + (f" ({t['who']})" if t.get("who") else "")
    return (f"<tr><td class=\"name\">{escape(store)}</td>"
            f"<td class=\"name\">{escape(_kpi_name(t['kpi']))}</td>"
            f"<td>{escape(_target_text(t['kpi'], t))}</td>{figure}"
            f"<td class=\"st{' st-' + escape(status) if status else ''}\" "
            f"data-cell=\"target|{escape(store)}|{escape(t['kpi'])}\">{escape(word)}</td>"
            f"<td class=\"name\">{escape(who)}</td><td>{escape(_when(t['set_at']))}</td></tr>")


def _alerts(r):
    stores = r["stores"] + [r["all"]]
    severities = list(dict.fromkeys(k for s in stores for k in s["alerts"]["by_severity"]))
    head = ("store",) + tuple(severities) + ("unresolved", "of them acknowledged")
    rows = [f"<tr><td class=\"name\">{escape(s['store'])}</td>"
            + "".join(f"<td>{s['alerts']['by_severity'].get(v, 0):,}</td>" for v in severities)
            + f"<td data-cell=\"alerts|{escape(s['store'])}\">{s['alerts']['unresolved']:,}</td>"
            f"<td>{s['alerts']['by_state'].get('acknowledged', 0):,}</td></tr>"
            for s in stores if s["alerts"]["unresolved"] or s is r["all"]]
    out = ["<h2>Alerts not resolved</h2>" + _table(head, rows)
           + "<p class=\"note\">Each station's alerts as it last reported them: open or "
             "acknowledged by the store's manager, not yet resolved. What caused an alert "
             "(a detractor's answer and comment) stays with the station and its case; only "
             "kind, subject, severity, times and counts are shown.</p>"]
    listed = [s for s in r["stores"] if s["alerts"]["newest"]]
    if listed:
        head = ("store", "kind", "subject", "severity", "state", "times", "first seen",
                "last seen", "note")
        rows = []
        for s in listed:
            a = s["alerts"]
            rows += [f"<tr><td class=\"name\">{escape(s['store'])}</td>"
                     f"<td class=\"name\">{escape(str(x['kind']))}</td>"
                     f"<td class=\"name\">{escape(str(x['subject']))}</td>"
                     f"<td class=\"name\">{escape(str(x['severity']))}</td>"
                     f"<td class=\"name\">{escape(str(x['state']))}</td>"
                     f"<td>{x['count']:,}</td><td>{escape(_when(x['first_seen']))}</td>"
                     f"<td>{escape(_when(x['last_seen']))}</td>"
                     f"<td class=\"why\">{escape(x['note'] or '')}</td></tr>"
                     for x in a["newest"]]
            if a["left_out"]:
                rows.append(f"<tr><td class=\"name\">{escape(s['store'])}</td><td class=\"why\" "
                            f"colspan=\"8\">and {a['left_out']:,} older, counted above and "
                            f"listed on the station</td></tr>")
        out.append("<h3>Newest first</h3>" + _table(head, rows, small=True))
    return "".join(out)


def _kpi_name(kpi: str) -> str:
    return KPI_NAMES.get(kpi, kpi)


def _kpi_value(kpi: str, value) -> str:
    if value is None:
        return "–"
    if kpi == "nps":
        return f"{value:+.1f}"
    if kpi == "ces":
        return f"{value:.2f}"
    if kpi == "handling_median_s":
        return _duration(value)
    return _pct(value) if kpi in ("csat", "participation_rate", "complaint_rate",
                                  "conversion") \
        else f"{value:g}"


def _target_text(kpi: str, t: dict) -> str:
    sign = "≥" if t["direction"] == "higher" else "≤"
    return f"{sign} {_kpi_value(kpi, t['value'])} a {t['period']}"


def _when(iso: str | None) -> str:
    return iso[:16].replace("T", " ") if iso else "–"


def _nps_charts(r):
    rows = []
    for s in r["stores"]:
        nps = s["nps"]
        low, high = nps["interval"] or (None, None)
        note = "" if nps["value"] is not None else \
            f"hidden: {nps['n']} responses (< {r['min_n']})"
        rows.append((s["store"], nps["value"], low, high, note))
    # the shares are absent exactly when NPS is (station/scorecard.py): the note says why
    shares = [(s["store"], s["promoter_share"]["value"], s["passive_share"]["value"],
               s["detractor_share"]["value"], note)
              for s, (*_, note) in zip(r["stores"], rows)]
    return ("<h2>NPS by store</h2><div class=\"grid\"><div class=\"panel\">"
            "<h3>NPS with its 95 % confidence interval</h3>" + charts.forest(rows, 530)
            + "</div><div class=\"panel\"><h3>Promoters, passives, detractors</h3>"
            + charts.stacked_shares(shares, 530) + "</div></div>")


MAX_LINES = 6          # store lines in the weekly chart beside the all-stores total
MAX_PANELS = 8         # per-store traffic panels
MAX_COLUMNS = 10       # stores as columns of a table; more stores become rows
MAX_WEEKS = 16         # weeks as columns when stores are rows


def _busiest(r, key: str, limit: int) -> list[str]:
    ranked = sorted(r["stores"], key=lambda s: (-(s[key] or 0), s["store"]))
    return [s["store"] for s in ranked[:limit]]


def _weekly(r):
    w = r["weekly"]
    if not w["weeks"]:
        return "<h2>NPS per week</h2><p class=\"note\">No responses in this period.</p>"
    labels = [_short_day(d) for d in w["weeks"]]
    drawn = [s for s in _busiest(r, "responses", MAX_LINES) if s in w["stores"]]
    series = {}
    for store, cells in [(s, w["stores"][s]) for s in sorted(drawn)] + [("all stores", w["all"])]:
        points = [(c["value"], *(c["interval"] or (None, None))) for c in cells]
        hidden = all(p[0] is None for p in points)
        series[store + (" (hidden)" if hidden else "")] = points
    left_out = len(w["stores"]) - len(drawn)
    note = (f" The chart draws the {len(drawn)} stores with the most responses and the total; "
            f"the table has all {len(w['stores'])}." if left_out > 0 else "")
    return ("<h2>NPS per week</h2><div class=\"panel\">" + charts.lines(series, labels, 1100)
            + "</div><p class=\"note\">Weeks start on Monday (local time). A missing point "
              f"means fewer than {r['min_n']} responses that week: the figure would be too "
              f"uncertain to show. Vertical whiskers are 95 % intervals.{note}</p>"
            + _weekly_table(w))


def _weekly_table(w) -> str:
    stores = list(w["stores"])
    if len(stores) <= MAX_COLUMNS:
        head = ("week from",) + tuple(stores) + ("all stores",)
        rows = [f"<tr><td class=\"name\">{escape(week)}</td>" + "".join(
            _week_cell(c) for c in [w["stores"][s][i] for s in stores] + [w["all"][i]])
            + "</tr>" for i, week in enumerate(w["weeks"])]
        return _table(head, rows, small=True)
    first = max(0, len(w["weeks"]) - MAX_WEEKS)
    weeks = w["weeks"][first:]
    head = ("store",) + tuple(_short_day(d) for d in weeks)
    rows = [f"<tr><td class=\"name\">{escape(s)}</td>" + "".join(
        _week_cell(c) for c in cells[first:]) + "</tr>"
        for s, cells in list(w["stores"].items()) + [("all stores", w["all"])]]
    note = (f"<p class=\"note\">The last {MAX_WEEKS} weeks; the JSON output has every "
            f"week.</p>" if first else "")
    return _table(head, rows, small=True) + note


def _week_cell(c):
    if c["value"] is None:
        return (f"<td class=\"hidden\" title=\"{escape(c['reason'])}\">n={c['n']}</td>"
                if c["n"] else "<td class=\"hidden\">–</td>")
    return f"<td>{c['value']:+.1f} <span class=\"small\">(n={c['n']})</span></td>"


def _traffic(r):
    entries, responses = r["by_hour"]["entries"], r["by_hour"]["responses"]
    if not entries:
        return ("<h2>Traffic by hour of day</h2><p class=\"note\">No camera traffic in this "
                "period (no camera configured, or no entrance line).</p>")
    hours = [f"{h:02d}" for h in range(24)]
    total = [sum(values[h] for values in entries.values()) for h in range(24)]
    shown = [s for s in _busiest(r, "entries", MAX_PANELS) if s in entries]
    panels = []
    if len(entries) > 1:
        panels.append("<div class=\"panel\">" + charts.bars(
            total, hours, "all stores: entries by hour", 360, 150, "#222222") + "</div>")
    for i, store in enumerate(sorted(shown)):
        panels.append("<div class=\"panel\">" + charts.bars(
            entries[store], hours, f"{store}: entries by hour", 360, 150,
            charts.PALETTE[i % (len(charts.PALETTE) - 1)]) + "</div>")
    note = (f"<p class=\"note\">Charts for the {len(shown)} busiest stores; the tables "
            f"have all {len(entries)}.</p>" if len(shown) < len(entries) else "")
    head = ("store",) + tuple(hours)
    rows = [f"<tr><td class=\"name\">{escape(s)}</td>" + "".join(
        f"<td>{v:,}</td>" for v in values) + "</tr>" for s, values in sorted(entries.items())]
    part_rows = []
    for store, values in sorted(entries.items()):
        resp = responses.get(store, [0] * 24)
        part_rows.append(f"<tr><td class=\"name\">{escape(store)}</td>" + "".join(
            f"<td>{_pct(100 * q / e if e else None, 0)}</td>" for q, e in zip(resp, values))
            + "</tr>")
    return ("<h2>Traffic by hour of day</h2><div class=\"grid\">" + "".join(panels)
            + "</div>" + note + "<h3>Entries per hour (local time)</h3>"
            + _table(head, rows, small=True)
            + "<h3>Participation per hour (responses ÷ entries)</h3>"
            + _table(head, part_rows, small=True))


def _demographics(r):
    k = r["k_floor"]
    out = [f"<h2>Visitors by gender and age</h2><p class=\"note\">Estimated by the camera (no "
           f"image is stored) and corrected for the face models' errors measured on labelled "
           f"faces: each share with its 95 % interval, which also carries the uncertainty of "
           f"that measurement. Not shown below {k} visitors with a face estimate (k-anonymity "
           f"floor).</p>"]
    stores = {s: d for s, d in r["demographics"].items() if d["n"]}
    if stores:
        groups = next((tuple(a["name"] for a in d["age"]) for d in stores.values() if "age" in d), ())
        head = ("store", "visitors with a face estimate", "women") + tuple(f"age {g}" for g in groups)
        out.append(_table(head, [_demo_row(store, d, groups, k) for store, d in stores.items()]))
    cells = r["nps_by_age_bracket"]
    if cells:
        rows = [f"<tr><td class=\"name\">{escape(str(b))}</td><td>{c['n']:,}</td>"
                + (f"<td>{_nps_text(c)}</td><td>{_ci_range(c)}</td>"
                   if c["value"] is not None else
                   f"<td class=\"hidden why\" colspan=\"2\">{escape(c['reason'])}</td>")
                + "</tr>" for b, c in cells.items()]
        out.append("<h3>NPS by age bracket (all stores, responses linked to a visitor)</h3>"
                   + _table(("age", "responses", "NPS", "95 % CI"), rows))
    return "".join(out)


WHY_NO_SHARES = {"below_k": "too few visitors (fewer than {k})",
                 "no_calibration": "no demographics calibration (models/demographics.json)"}


def _demo_row(store, d, groups, k) -> str:
    cells = [f"<td class=\"name\">{escape(store)}</td>", f"<td>{d['n']:,}</td>"]
    if "reason" in d:
        why = WHY_NO_SHARES[d["reason"]].format(k=k)
        cells.append(f"<td class=\"sup why\" colspan=\"{1 + len(groups)}\" "
                     f"data-cell=\"{escape(store)}|women\">{escape(why)}</td>")
    else:
        named = [("women", next(s for s in d["gender"] if s["name"] == "female"))]
        named += [(f"age {s['name']}", s) for s in d["age"]]
        cells += [f"<td data-cell=\"{escape(store)}|{escape(key)}\">{s['estimate'] * 100:.0f} % "
                  f"<span class=\"small\">({s['low'] * 100:.0f}–{s['high'] * 100:.0f} %)</span></td>"
                  for key, s in named]
    return "<tr>" + "".join(cells) + "</tr>"


def _cases(r):
    head = ("store", "cases opened", "resolved", "handling median", "handling p90",
            "open now", "oldest open")
    rows = []
    for s in r["stores"] + [r["all"]]:
        rows.append(
            f"<tr><td class=\"name\">{escape(s['store'])}</td><td>{s['cases_opened']:,}</td>"
            f"<td>{s['cases_resolved']:,}</td>"
            f"<td>{_duration(s['handling_median_s']['value'])}</td>"
            f"<td>{_duration(s['handling_p90_s']['value'])}</td>"
            f"<td data-cell=\"open|{escape(s['store'])}\">{s['open_cases']:,}</td>"
            f"<td>{_duration(s['oldest_open_case_age_s'])}</td></tr>")
    return ("<h2>Detractor cases</h2>" + _table(head, rows)
            + "<p class=\"note\">A case opens for every detractor (0–6); handling time = "
              "resolved − opened for cases resolved in the period. “Open now” counts every "
              "case opened before the end of the period and not resolved by then.</p>")


def _store_kpis(r):
    """Conversion (with its source), returning shoppers, NPS new vs returning, complaint
    rates and occupancy, per store (issue 17)."""
    head = ("store", "conversion", "source", "returning shoppers", "NPS first visit",
            "NPS returning", "in store now", "peak")
    rows = []
    for s in r["stores"] + [r["all"]]:
        name = s["store"]
        cls = " class=\"total\"" if s is r["all"] else ""
        conversion, occupancy = s.get("conversion"), s.get("occupancy")
        if conversion and conversion["rate"] is not None:
            interval = conversion["interval"]
            conv = (f"<td data-cell=\"conversion|{escape(name)}\">{_pct(conversion['rate'])}"
                    + (f" <span class=\"small\">({interval[0]:.1f} … {interval[1]:.1f})</span>"
                       if interval else "") + "</td>")
            source = (f"POS, {conversion['transactions']:,} receipts / "
                      f"{conversion['entries']:,} entries")
        else:
            reason = conversion["reason"] if conversion else "no POS figures"
            conv = (f"<td class=\"hidden\" data-cell=\"conversion|{escape(name)}\" "
                    f"title=\"{escape(reason)}\">–</td>")
            source = "–"
        returning = s["returning_share"]
        ret = _figure_cell(returning, _pct, f"returning|{name}")
        if returning["value"] is not None and returning["interval"]:
            low, high = returning["interval"]
            ret = ret.replace("</td>", f" <span class=\"small\">({low:.0f} … {high:.0f})"
                                       f"</span></td>")
        rows.append(
            f"<tr{cls}><td class=\"name\">{escape(name)}</td>{conv}"
            f"<td class=\"small\">{escape(source)}</td>{ret}"
            + _figure_cell(s["nps_new"], lambda v: f"{v:+.1f}", f"nps_new|{name}")
            + _figure_cell(s["nps_returning"], lambda v: f"{v:+.1f}", f"nps_returning|{name}")
            + (f"<td data-cell=\"occupancy|{escape(name)}\">{occupancy['people']:,}</td>"
               f"<td>{occupancy['peak']:,} <span class=\"small\">"
               f"{escape((occupancy['peak_at'] or '')[11:16])}</span></td>"
               if occupancy else "<td>–</td><td>–</td>") + "</tr>")
    return ("<h2>Conversion, returning shoppers, occupancy</h2>" + _table(head, rows)
            + "<p class=\"note\">Conversion = point-of-sale receipts ÷ camera entries of the "
              "hours that have both (the checkout-zone source is in each station's own "
              "report). Returning shoppers = ‘no’ answers to “Is this your first visit to this "
              "store?” ÷ all yes/no answers (95 % Wilson interval). In store now = "
              "entries − exits since opening, from the latest minute each station sent; peak "
              "= the period's highest minute.</p>")


def _complaints(r):
    head = ("store", "complaints", "per response", "per entry", "asking to be contacted",
            "handled median", "handled p90")
    rows = [f"<tr><td class=\"name\">{escape(s['store'])}</td><td>{s['complaints']:,}</td>"
            + _figure_cell(s["complaint_rate"], _pct, f"complaints|{s['store']}")
            + _figure_cell(s["complaint_rate_per_entry"], lambda v: _pct(v, 2),
                           f"complaints_per_entry|{s['store']}")
            + f"<td>{s['complaints_with_contact']:,}</td>"
            f"<td data-cell=\"complaint_handling|{escape(s['store'])}\">"
            f"{_duration(s['complaint_handling_median_s']['value'])}</td>"
            f"<td>{_duration(s['complaint_handling_p90_s']['value'])}</td></tr>"
            for s in r["stores"] + [r["all"]]]
    return ("<h2>Complaints</h2>" + _table(head, rows)
            + "<p class=\"note\">A complaint is a shopper reporting a problem after a low score "
              "(the act, not the score). Handling time runs from the complaint to the resolution "
              "of its "
              "case. Contact details stay at the store; HQ only learns whether contact was "
              "asked for.</p>")


def _zone_dwell(r):
    rows = [f"<tr><td class=\"name\">{escape(s['store'])}</td><td>{escape(zone)}</td>"
            f"<td>{f['visits']:,}</td><td>{_duration(f['median_s'])}</td>"
            f"<td>{_duration(f['p90_s'])}</td></tr>"
            for s in r["stores"] for zone, f in s.get("zone_dwell", {}).items()]
    if not rows:
        return ""
    return ("<h2>Dwell per zone</h2>" + _table(("store", "zone", "visits", "median", "p90"),
                                               rows))


def _reasons(r):
    groups = [(g, r["reasons"].get(g, [])) for g in ("detractor", "passive", "promoter")]
    if not any(items for _, items in groups):
        return ""
    cols = "".join(
        f"<div class=\"panel\"><h3>{escape(g)}s</h3>" + _table(("reason", "n"), [
            f"<tr><td class=\"name\">{escape(str(reason))}</td><td>{n:,}</td></tr>"
            for reason, n in items]) + "</div>" for g, items in groups if items)
    return "<h2>Reasons chosen</h2><div class=\"grid\">" + cols + "</div>"


def _completeness(r):
    head = ("station", "status", "received", "HQ acked seq", "max seq", "missing", "last seen")
    rows, problems = [], []
    for s in r["stations"]:
        if s["missing"]:
            problems.append(f"{s['station']} is missing {s['missing']:,} events")
        if s["status"] == "offline":
            problems.append(f"{s['station']} is offline")
        rows.append(
            f"<tr><td class=\"name\">{escape(s['station'])}</td><td>{escape(s['status'])}</td>"
            f"<td>{s['received']:,}</td><td>{s['acked_seq']:,}</td><td>{s['max_seq']:,}</td>"
            f"<td>{s['missing']:,}</td><td>{escape(str(s['last_seen'] or 'never'))}</td></tr>")
    warn = ("<div class=\"warn\">Figures may be incomplete: " + escape("; ".join(problems))
            + ".</div>") if problems else ""
    return ("<h2>Data completeness</h2>" + warn + _table(head, rows)
            + "<p class=\"note\">Stations resend until HQ has every event (acked seq = max "
              "seq, nothing missing); recent events of an offline station arrive when it "
              "reconnects.</p>")


def _method(r):
    return ("<h2>Method</h2><ul class=\"note\">"
            "<li>NPS = % promoters (9–10) − % detractors (0–6), −100…+100, standard error "
            "SE = 100 · √((p + d − (p − d)²) / n). The 95 % interval is ± 1.96 · SE on "
            "adjusted shares (adjusted Wald, Rocks 2016: ¾ promoter, ¾ detractor and 1½ "
            "passive pseudo-answers added), which keeps its coverage at the small n of one "
            "store-week.</li>"
            f"<li>NPS (with its group shares), CSAT, CES and the complaint rate are hidden "
            f"below {r['min_n']} answers (privacy.min_n), each counted on its own answers: "
            "CSAT and CES are optional follow-ups, so a store can show its NPS and hide its "
            "CSAT. The group shares go with NPS, which they would give away; the complaint "
            "rate (complaints lodged ÷ responses) goes by the responses too. A hidden "
            "cell gives the reason when pointed at.</li>"
            "<li>CSAT = % of 4–5 answers on 1–5; CES = mean answer on 1–7.</li>"
            "<li>Entries are ‘in’ crossings of entrance lines, summed per minute by each "
            "station.</li>"
            f"<li>Demographic cells with fewer than {r['k_floor']} visitors are suppressed "
            "(privacy.k_floor).</li></ul>")


# -- formatting --------------------------------------------------------------------------------
def _table(head, rows, small=False) -> str:
    cls = " class=\"small\"" if small else ""
    ths = "".join(f"<th class=\"name\">{escape(h)}</th>" if i == 0 else f"<th>{escape(h)}</th>"
                  for i, h in enumerate(head))
    return f"<table{cls}><thead><tr>{ths}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _nps_text(nps) -> str:
    return "–" if nps["value"] is None else f"{nps['value']:+.1f}"


def _ci_range(nps) -> str:
    low, high = nps["interval"]
    return f"{low:+.1f} … {high:+.1f}"


def _figure_cell(figure: dict, fmt, key: str) -> str:
    """A table cell with a figure's value, or '–' with the reason it is absent as its title."""
    attr = f"data-cell=\"{escape(key)}\""
    if figure["value"] is None:
        return f"<td class=\"hidden\" {attr} title=\"{escape(figure['reason'])}\">–</td>"
    return f"<td {attr}>{fmt(figure['value'])}</td>"


def _n_or_reason(figure: dict) -> str:
    return f"n = {figure['n']:,}" if figure["value"] is not None else figure["reason"]


def _pct(value, digits=1) -> str:
    return "–" if value is None else f"{value:.{digits}f} %"


def _num(value, digits=1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _duration(seconds) -> str:
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def _day(iso: str | None) -> str | None:
    return iso[:10] if iso else None


def _short_day(iso: str) -> str:
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    return f"{int(iso[8:10])} {months[int(iso[5:7]) - 1]}"
