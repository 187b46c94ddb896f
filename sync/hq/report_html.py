"""The HQ report as one HTML page: inline CSS and inline SVG, no script, no external resource.

    html = render_html(build(db, config, since, until))      # sync/hq/report.py builds the data

Every figure in a chart is also in a table beside it, so the page reads without the charts
(screen readers, printing in black and white, copying into a spreadsheet).
"""
from __future__ import annotations

from html import escape

from sync.hq import charts

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
"""


def render_html(r: dict) -> str:
    parts = [_header(r), _overview(r), _stores_table(r), _nps_charts(r), _weekly(r),
             _traffic(r), _demographics(r), _cases(r), _reasons(r), _completeness(r), _method(r)]
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
            f"NPS is shown from {r['min_n']} responses; demographic cells under "
            f"{r['k_floor']} visitors are suppressed.</p>")


def _overview(r):
    a = r["all"]
    nps = a["nps"]
    cards = [
        ("NPS, all stores", _nps_text(nps),
         f"95 % CI {_ci_range(nps)}" if nps["shown"] else nps["reason"]),
        ("responses", f"{a['responses']:,}", f"{a['complete']:,} complete"),
        ("CSAT (4–5 of 5)", _pct(a["csat"]["value"]), f"n = {a['csat']['n']:,}"),
        ("CES (mean of 1–7)", _num(a["ces"]["value"], 2), f"n = {a['ces']['n']:,}"),
        ("entries (camera)", f"{a['entries']:,}", f"{a['visits']:,} visits tracked"),
        ("participation", _pct(a["participation_rate"]), "responses ÷ entries"),
        ("open cases", f"{a['open_cases']:,}",
         f"oldest {_duration(a['oldest_open_case_age_s'])}" if a["open_cases"] else "none"),
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
                    if nps["shown"] else
                    f"<td class=\"hidden\" data-cell=\"nps|{escape(s['store'])}\" "
                    f"title=\"{escape(nps['reason'])}\">hidden</td>")
        rows.append(
            f"<tr{cls}><td class=\"name\">{escape(s['store'])}</td><td>{s['responses']:,}</td>"
            f"{nps_cell}<td>{_ci_range(nps) if nps['shown'] else '–'}</td>"
            + "".join(f"<td>{_pct(nps[key] if nps['shown'] else None)}</td>"
                      for key in ("promoter_share", "passive_share", "detractor_share"))
            + f"<td>{_pct(_gated(s['csat'], r['min_n']))}</td>"
            f"<td>{_num(_gated(s['ces'], r['min_n']), 2)}</td><td>{s['entries']:,}</td>"
            f"<td>{_pct(s['participation_rate'])}</td>"
            f"<td>{_nps_text(strat) if strat['shown'] else '–'}</td></tr>")
    hidden = [s for s in r["stores"] if not s["nps"]["shown"]]
    notes = "".join(f"<li><b>{escape(s['store'])}</b>: {escape(s['nps']['reason'])}</li>"
                    for s in hidden)
    return ("<h2>Stores</h2>" + _table(head, rows)
            + (f"<p class=\"note\">NPS hidden for:</p><ul class=\"note\">{notes}</ul>"
               if notes else "")
            + "<p class=\"note\">Participation = survey responses ÷ entries counted by the "
              "camera in the same period. The reweighted NPS gives each age bracket × gender "
              "the weight it has in the camera's footfall (only responses linked to a "
              "visitor; its interval uses Kish's effective n).</p>")


def _nps_charts(r):
    rows = []
    for s in r["stores"]:
        nps = s["nps"]
        note = "" if nps["shown"] else f"hidden: {nps['n']} responses (< {r['min_n']})"
        rows.append((s["store"], nps["nps"] if nps["shown"] else None, nps["ci_low"],
                     nps["ci_high"], note))
    # below min n the group shares would give the hidden NPS away: hide them as well
    shares = [(s["store"], *((s["nps"]["promoter_share"], s["nps"]["passive_share"],
                              s["nps"]["detractor_share"]) if s["nps"]["shown"]
                             else (None, None, None)), note)
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
        points = [(c["nps"], *(c["ci"] or (None, None))) for c in cells]
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
    if c["nps"] is None:
        return (f"<td class=\"hidden\" title=\"{escape(c['reason'])}\">n={c['n']}</td>"
                if c["n"] else "<td class=\"hidden\">–</td>")
    return f"<td>{c['nps']:+.1f} <span class=\"small\">(n={c['n']})</span></td>"


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
    out = [f"<h2>Visitors by age bracket and gender</h2><p class=\"note\">Estimated by the "
           f"camera (no image is stored). Cells with fewer than {k} visitors show “&lt; {k}” "
           f"(k-anonymity floor); when a single cell is suppressed, the next smallest is "
           f"suppressed too (“†”) so it cannot be worked out from the store's total.</p>"]
    stores = {s: d for s, d in r["demographics"].items() if d["brackets"]}
    if len(stores) <= MAX_PANELS:
        out.append("<div class=\"grid\">")
        for store, d in stores.items():
            rows = [f"<tr><td class=\"name\">{escape(b)}</td>"
                    + "".join(_demo_cell(store, d, f"{b}/{g}", k) for g in d["genders"])
                    + "</tr>" for b in d["brackets"]]
            out.append(f"<div class=\"panel\"><h3>{escape(store)}</h3>"
                       + _table(("age",) + tuple(d["genders"]), rows)
                       + f"<div class=\"small\">not estimated: {d['unknown']:,}</div></div>")
        out.append("</div>")
    elif stores:            # many stores: one row each, bracket x gender as columns
        brackets = sorted({b for d in stores.values() for b in d["brackets"]},
                          key=_bracket_start)
        genders = next(iter(stores.values()))["genders"]
        keys = [f"{b}/{g}" for b in brackets for g in genders]
        head = ("store",) + tuple(f"{b} {g[0]}" for b, g in
                                  (key.split("/") for key in keys)) + ("not estimated",)
        rows = [f"<tr><td class=\"name\">{escape(s)}</td>"
                + "".join(_demo_cell(s, d, key, k) for key in keys)
                + f"<td>{d['unknown']:,}</td></tr>" for s, d in stores.items()]
        out.append(_table(head, rows, small=True)
                   + "<p class=\"note\">f = female, m = male.</p>")
    cells = r["nps_by_age_bracket"]
    if cells:
        rows = [f"<tr><td class=\"name\">{escape(str(b))}</td><td>{c['n']:,}</td>"
                + (f"<td>{c['nps']:+.1f}</td><td>{c['ci'][0]:+.1f} … {c['ci'][1]:+.1f}</td>"
                   if c["nps"] is not None else
                   f"<td class=\"hidden why\" colspan=\"2\">{escape(c['reason'])}</td>")
                + "</tr>" for b, c in cells.items()]
        out.append("<h3>NPS by age bracket (all stores, responses linked to a visitor)</h3>"
                   + _table(("age", "responses", "NPS", "95 % CI"), rows))
    return "".join(out)


def _bracket_start(bracket: str):
    digits = "".join(ch for ch in bracket.split("-")[0] if ch.isdigit())
    return (int(digits) if digits else 999, bracket)


def _demo_cell(store, d, key, k) -> str:
    value = d["cells"].get(key, 0)
    attr = f"data-cell=\"{escape(store)}|{escape(key)}\""
    if value is None:
        mark = "†" if key in d["suppressed_secondary"] else f"&lt; {k}"
        return f"<td class=\"sup\" {attr}>{mark}</td>"
    return f"<td {attr}>{value:,}</td>"


def _cases(r):
    head = ("store", "cases opened", "complaint rate", "resolved", "handling median",
            "handling p90", "open now", "oldest open")
    rows = []
    for s in r["stores"] + [r["all"]]:
        rows.append(
            f"<tr><td class=\"name\">{escape(s['store'])}</td><td>{s['cases_opened']:,}</td>"
            f"<td>{_pct(s['complaint_rate'])}</td><td>{s['cases_resolved']:,}</td>"
            f"<td>{_duration(s['handling_median_s'])}</td>"
            f"<td>{_duration(s['handling_p90_s'])}</td>"
            f"<td data-cell=\"open|{escape(s['store'])}\">{s['open_cases']:,}</td>"
            f"<td>{_duration(s['oldest_open_case_age_s'])}</td></tr>")
    return ("<h2>Detractor cases</h2>" + _table(head, rows)
            + "<p class=\"note\">A case opens for every detractor (0–6); handling time = "
              "resolved − opened for cases resolved in the period. “Open now” counts every "
              "case opened before the end of the period and not resolved by then.</p>")


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
            f"<li>NPS (with its group shares), CSAT and CES are hidden below {r['min_n']} "
            "answers (privacy.min_n); the reason is given where NPS is hidden.</li>"
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
    return "–" if nps.get("nps") is None or not nps.get("shown") else f"{nps['nps']:+.1f}"


def _ci_range(nps) -> str:
    return f"{nps['ci_low']:+.1f} … {nps['ci_high']:+.1f}"


def _gated(share_or_mean: dict, min_n: int):
    """CSAT / CES follow NPS's min-n rule: too few answers, no figure."""
    return share_or_mean["value"] if share_or_mean["n"] >= min_n else None


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
