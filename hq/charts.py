"""Small inline SVG charts for the HQ report: no plotting library, no script, no external file.

    svg = forest([("acme/hcm-d1", 42.0, 30.5, 53.5, "")])    # NPS with its 95 % interval
    html = f"<figure>{svg}</figure>"

Every function returns one `<svg>` element as text; sizes are in CSS pixels and the charts scale
with the page (viewBox). Colours are the Okabe-Ito palette, readable with colour blindness.
"""
from __future__ import annotations

from html import escape

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#000000"]
PROMOTER, PASSIVE, DETRACTOR = "#009E73", "#B0B0B0", "#D55E00"
GRID, AXIS, MUTED = "#E3E3E3", "#555555", "#8A8A8A"


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
            f'role="img" aria-label="{escape(label)}" class="chart">' + "".join(body) + "</svg>")


def _text(x, y, text, anchor="start", size=12, fill=AXIS, weight="normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}">{escape(str(text))}</text>')


def _nice_range(lo: float, hi: float, clamp=(-100.0, 100.0), step=20.0) -> tuple[float, float]:
    lo = max(clamp[0], step * ((lo // step) - (1 if lo % step == 0 else 0)))
    hi = min(clamp[1], step * (-(-hi // step) + (1 if hi % step == 0 else 0)))
    if hi - lo < step:
        hi = min(clamp[1], lo + step)
    return lo, hi


def forest(rows: list[tuple], width: int = 640, label: str = "NPS by store") -> str:
    """One row per (name, nps|None, ci_low, ci_high, note): a dot on its 95 % interval."""
    left, right, row_h, top = 170, 24, 30, 26
    height = top + row_h * max(len(rows), 1) + 12
    shown = [r for r in rows if r[1] is not None]
    lo, hi = _nice_range(min([r[2] for r in shown] + [0]), max([r[3] for r in shown] + [0]))
    span = width - left - right

    def x(v):
        return left + (v - lo) / (hi - lo) * span

    body = []
    tick = lo
    while tick <= hi + 1e-9:
        body.append(f'<line x1="{x(tick):.1f}" y1="{top - 6}" x2="{x(tick):.1f}" '
                    f'y2="{height - 10}" stroke="{AXIS if tick == 0 else GRID}" '
                    f'stroke-width="1"/>')
        body.append(_text(x(tick), top - 10, f"{tick:+.0f}" if tick else "0", "middle", 11))
        tick += 20
    for i, (name, value, ci_lo, ci_hi, note) in enumerate(rows):
        y = top + row_h * i + row_h / 2
        body.append(_text(left - 8, y + 4, _short(name, 24), "end", 12, "#222"))
        if value is None:
            body.append(_text(left + 4, y + 4, note, "start", 11, MUTED))
            continue
        body.append(f'<line x1="{x(ci_lo):.1f}" y1="{y:.1f}" x2="{x(ci_hi):.1f}" y2="{y:.1f}" '
                    f'stroke="{PALETTE[0]}" stroke-width="3" stroke-linecap="round" '
                    f'opacity="0.45"/>')
        body.append(f'<circle cx="{x(value):.1f}" cy="{y:.1f}" r="5.5" fill="{PALETTE[0]}"/>')
        body.append(_text(x(value), y - 8, f"{value:+.1f}", "middle", 11, "#222", "bold"))
    return _svg(width, height, body, label)


def stacked_shares(rows: list[tuple], width: int = 640, label: str = "NPS groups") -> str:
    """One bar per (name, promoter %, passive %, detractor %[, note]): detractors left.

    A row whose shares are None shows its note (e.g. why it is hidden) instead of a bar.
    """
    left, right, row_h, top = 170, 10, 26, 8
    height = top + row_h * max(len(rows), 1) + 24
    span = width - left - right
    body = []
    for i, (name, promoters, passives, detractors, *note) in enumerate(rows):
        y = top + row_h * i
        body.append(_text(left - 8, y + 15, _short(name, 24), "end", 12, "#222"))
        if promoters is None:
            body.append(_text(left + 4, y + 15, (note or ["no responses"])[0], "start", 11,
                              MUTED))
            continue
        cursor = left
        for share, colour in ((detractors, DETRACTOR), (passives, PASSIVE),
                              (promoters, PROMOTER)):
            w = span * share / 100
            body.append(f'<rect x="{cursor:.1f}" y="{y + 2}" width="{w:.1f}" height="{row_h - 6}" '
                        f'fill="{colour}"/>')
            if w > 34:
                body.append(_text(cursor + w / 2, y + 16, f"{share:.0f} %", "middle", 11,
                                  "#fff" if colour != PASSIVE else "#222"))
            cursor += w
    y = top + row_h * len(rows) + 14
    for j, (name, colour) in enumerate((("detractors 0–6", DETRACTOR), ("passives 7–8", PASSIVE),
                                        ("promoters 9–10", PROMOTER))):
        body.append(f'<rect x="{left + 130 * j}" y="{y - 9}" width="10" height="10" '
                    f'fill="{colour}"/>')
        body.append(_text(left + 130 * j + 14, y, name, "start", 11))
    return _svg(width, height, body, label)


def lines(series: dict[str, list], x_labels: list[str], width: int = 760,
          label: str = "NPS per week", total_last: bool = True, legend: bool = True) -> str:
    """NPS over time: series name -> one (value|None, ci_low, ci_high) per x label.

    None values leave a gap (the week was below min n); the 95 % interval is a whisker.
    With total_last the last series is the total, drawn in black and dashed. Without legend
    (one series, named by the caption) the plot takes the legend's width too.
    """
    left, right, top, bottom = 46, 190 if legend else 12, 14, 40
    height = 280
    values = [p for pts in series.values() for p in pts if p and p[0] is not None]
    lo, hi = _nice_range(min([p[1] for p in values] + [0]), max([p[2] for p in values] + [0]))
    n = max(len(x_labels), 1)
    span_x, span_y = width - left - right, height - top - bottom

    def x(i):
        return left + (span_x * (i + 0.5) / n)

    def y(v):
        return top + (hi - v) / (hi - lo) * span_y

    body = []
    tick = lo
    while tick <= hi + 1e-9:
        body.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{width - right}" '
                    f'y2="{y(tick):.1f}" stroke="{AXIS if tick == 0 else GRID}"/>')
        body.append(_text(left - 6, y(tick) + 4, f"{tick:+.0f}" if tick else "0", "end", 11))
        tick += 20
    every = max(1, n // 10)
    for i, name in enumerate(x_labels):
        if i % every == 0:
            body.append(_text(x(i), height - bottom + 16, name, "middle", 10))
    for k, (name, points) in enumerate(series.items()):
        last = k == len(series) - 1 and total_last
        colour = "#222222" if last else PALETTE[k % (len(PALETTE) - 1)]
        offset = (k - (len(series) - 1) / 2) * 4     # side by side so whiskers do not overlap
        path, pen_down = [], False
        for i, p in enumerate(points):
            if not p or p[0] is None:
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{x(i) + offset:.1f},{y(p[0]):.1f}")
            pen_down = True
            body.append(f'<line x1="{x(i) + offset:.1f}" y1="{y(p[1]):.1f}" '
                        f'x2="{x(i) + offset:.1f}" y2="{y(p[2]):.1f}" stroke="{colour}" '
                        f'opacity="0.5" stroke-width="2"/>')
            body.append(f'<circle cx="{x(i) + offset:.1f}" cy="{y(p[0]):.1f}" r="3.5" '
                        f'fill="{colour}"/>')
        if path:
            dash = ' stroke-dasharray="6 4"' if last else ""
            body.append(f'<path d="{" ".join(path)}" fill="none" stroke="{colour}" '
                        f'stroke-width="2"{dash}/>')
        if not legend:
            continue
        ly = top + 14 + 18 * k
        body.append(f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="4" '
                    f'fill="{colour}"/>')
        body.append(_text(width - right + 30, ly - 3, _short(name, 26), "start", 11, "#222"))
    return _svg(width, height, body, label)


def bars(values: list[float], x_labels: list[str], title: str, width: int = 360,
         height: int = 150, colour: str = PALETTE[0], every: int = 3) -> str:
    """A small bar chart (traffic by hour): one bar per label, the maximum written on top."""
    left, right, top, bottom = 8, 8, 22, 22
    span_x, span_y = width - left - right, height - top - bottom
    peak = max(values) if values and max(values) > 0 else 1
    w = span_x / max(len(values), 1)
    body = [_text(left, 13, title, "start", 12, "#222", "bold")]
    for i, v in enumerate(values):
        h = span_y * v / peak
        body.append(f'<rect x="{left + i * w + 1:.1f}" y="{top + span_y - h:.1f}" '
                    f'width="{max(w - 2, 1):.1f}" height="{h:.1f}" fill="{colour}">'
                    f'<title>{escape(x_labels[i])}: {v:g}</title></rect>')
        if i % every == 0:
            body.append(_text(left + i * w + w / 2, height - 6, x_labels[i], "middle", 10))
    if values:
        i = values.index(max(values))
        body.append(_text(left + i * w + w / 2, top + span_y - span_y - 2, f"{max(values):g}",
                          "middle", 10))
    body.append(f'<line x1="{left}" y1="{top + span_y}" x2="{width - right}" '
                f'y2="{top + span_y}" stroke="{AXIS}"/>')
    return _svg(width, height, body, title)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
