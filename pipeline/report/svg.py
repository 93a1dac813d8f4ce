"""Static SVG plots generated in Python: heatmaps, line charts, bar charts, tree graphs.

Every number drawn or put in a tooltip goes through ``pipeline.report.format``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pipeline.report.colors import OKABE_ITO, diverging, sequential
from pipeline.report.format import esc, num, pct


def heatmap(matrix: Sequence[Sequence[float]], *, row_label: str = "layer", col_label: str = "head",
            title: str = "", cell: int = 22, signed: bool = False, css_class: str = "plot") -> str:
    """A rows x cols heatmap with row/column indices, a <title> tooltip per cell and a legend."""
    rows, cols = len(matrix), len(matrix[0]) if matrix else 0
    flat = [float(v) for row in matrix for v in row]
    lo, hi = (min(flat), max(flat)) if flat else (0.0, 1.0)
    span = max(abs(lo), abs(hi)) or 1.0
    left, top = 34, 24
    w, h = left + cols * cell + 70, top + rows * cell + 30
    out = [f'<svg class="{css_class}" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'aria-label="{esc(title)}"><title>{esc(title)}</title>']
    for r, row in enumerate(matrix):
        out.append(f'<text x="{left - 4}" y="{top + r * cell + cell * 0.68:.1f}" class="ax" '
                   f'text-anchor="end">{r}</text>')
        for c, v in enumerate(row):
            t = float(v) / span if signed else ((float(v) - lo) / (hi - lo) if hi > lo else 0.5)
            fill = diverging(t) if signed else sequential(t)
            out.append(f'<rect x="{left + c * cell}" y="{top + r * cell}" width="{cell - 1}" '
                       f'height="{cell - 1}" fill="{fill}"><title>{row_label} {r}, {col_label} {c}: '
                       f'{num(v)}</title></rect>')
    for c in range(cols):
        out.append(f'<text x="{left + c * cell + cell / 2:.1f}" y="{top - 6}" class="ax" '
                   f'text-anchor="middle">{c}</text>')
    out.append(f'<text x="{left + cols * cell / 2:.1f}" y="{h - 6}" class="ax" '
               f'text-anchor="middle">{esc(col_label)} \u2192</text>')
    out.append(_legend(left + cols * cell + 12, top, rows * cell, lo, hi, signed, span))
    out.append("</svg>")
    return "".join(out)


def _legend(x: float, y: float, height: float, lo: float, hi: float, signed: bool, span: float) -> str:
    height = max(height, 60)
    steps = 20
    parts = []
    for i in range(steps):
        f = 1 - i / (steps - 1)
        color = diverging(2 * f - 1) if signed else sequential(f)
        parts.append(f'<rect x="{x}" y="{y + i * height / steps:.1f}" width="10" '
                     f'height="{height / steps + 0.5:.1f}" fill="{color}"/>')
    top_v, bot_v = (span, -span) if signed else (hi, lo)
    parts.append(f'<text x="{x + 13}" y="{y + 8}" class="ax">{num(top_v)}</text>')
    parts.append(f'<text x="{x + 13}" y="{y + height}" class="ax">{num(bot_v)}</text>')
    return "".join(parts)


# One dash pattern per series (with one colour per series), so lines differ in print and greyscale too.
DASHES = ["", "8 3", "2 3", "10 3 2 3", "5 5", "1 4", "12 2 2 2 2 2", "4 2 1 2"]
MARKERS = ["circle", "square", "triangle", "diamond"]


def series_style(i: int) -> dict[str, str]:
    """Colour, dash pattern and marker of the i-th series: all three differ between neighbours."""
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "dash": DASHES[i % len(DASHES)],
            "marker": MARKERS[i % len(MARKERS)]}


def _marker(kind: str, x: float, y: float, color: str, tip: str = "") -> str:
    title = f"<title>{tip}</title>" if tip else ""
    if kind == "square":
        return (f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="{color}">{title}</rect>')
    if kind in ("triangle", "diamond"):
        pts = ([(x, y - 4), (x + 3.6, y + 2.6), (x - 3.6, y + 2.6)] if kind == "triangle" else
               [(x, y - 4), (x + 4, y), (x, y + 4), (x - 4, y)])
        return (f'<polygon points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in pts)}" fill="{color}">'
                f"{title}</polygon>")
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">{title}</circle>'


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Up to ``count`` + 1 evenly spaced round tick values covering [lo, hi]."""
    span = hi - lo
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    out, v = [], first
    while v <= hi + 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def line_chart(series: Sequence[dict], *, x_label: str, y_label: str, title: str,
               width: int = 460, height: int = 290, y_as_pct: bool = True,
               x_as_pct: bool = False, x_ticks: Sequence[float] | None = None) -> str:
    """Lines ``{"name", "x": [...], "y": [...], "style": int}`` with markers, ticked axes (y 0..1),
    a legend, and a tooltip per point. Series ``style`` i gets its own colour, dash pattern and
    marker (``series_style``), so every line can be told apart, also without colour. The title is
    drawn above the plot; ``x_ticks`` overrides the automatic round ticks (e.g. whole head counts)."""
    left, right, top, bottom = 48, 170, 34, 46
    pw, ph = width - left - right, height - top - bottom
    xs = [float(x) for s in series for x in s["x"]]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1

    def px(x: float) -> float:
        return left + (float(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + (1 - float(y)) * ph

    fmt = pct if y_as_pct else num
    out = [f'<svg class="plot" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" aria-label="{esc(title)}"><title>{esc(title)}</title>'
           f'<text x="{left}" y="16" class="chart-title">{esc(title)}</text>']
    for g in range(0, 5):
        y = g / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="grid"/>'
                   f'<line x1="{left - 4}" x2="{left}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="tick"/>'
                   f'<text x="{left - 6}" y="{py(y) + 4:.1f}" class="ax" text-anchor="end">{g * 25}%</text>')
    for xv in (x_ticks if x_ticks is not None else _ticks(x0, x1)):
        label = f"{100 * xv:.0f}%" if x_as_pct else (f"{xv:.0f}" if float(xv).is_integer() else f"{xv:g}")
        out.append(f'<line x1="{px(xv):.1f}" x2="{px(xv):.1f}" y1="{top + ph}" y2="{top + ph + 4}" '
                   f'class="tick"/><text x="{px(xv):.1f}" y="{top + ph + 16}" class="ax xtick" '
                   f'text-anchor="middle">{label}</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" class="axis"/>'
               f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" class="axis"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" class="ax" text-anchor="middle">'
               f'{esc(x_label)}</text><text x="12" y="{top + ph / 2:.1f}" class="ax" '
               f'transform="rotate(-90 12 {top + ph / 2:.1f})" text-anchor="middle">{esc(y_label)}</text>')
    for i, s in enumerate(series):
        st = series_style(s.get("style", i))
        pts = [(px(x), py(y)) for x, y in zip(s["x"], s["y"], strict=True) if y is not None]
        dash = f' stroke-dasharray="{st["dash"]}"' if st["dash"] else ""
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        out.append(f'<polyline class="series" points="{path}" fill="none" stroke="{st["color"]}" '
                   f'stroke-width="2"{dash}/>')
        for (a, b), x, y in zip(pts, s["x"], s["y"], strict=False):
            xs_ = f"{100 * float(x):.0f}%" if x_as_pct else num(x)
            out.append(_marker(st["marker"], a, b, st["color"],
                               f'{esc(s["name"])}: {esc(x_label)} {xs_}, {fmt(y)}'))
        ly = top + 12 + i * 18
        out.append(f'<line x1="{left + pw + 10}" x2="{left + pw + 40}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{st["color"]}" stroke-width="2"{dash}/>'
                   f'{_marker(st["marker"], left + pw + 25, ly - 4, st["color"])}'
                   f'<text x="{left + pw + 46}" y="{ly}" class="ax">{esc(s["name"])}</text>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 460) -> str:
    """Horizontal bars for values in [0, 1] shown as percentages."""
    row, left = 22, 150
    height = 10 + row * len(items)
    out = [f'<svg class="plot" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" aria-label="{esc(title)}"><title>{esc(title)}</title>']
    for i, (name, v) in enumerate(items):
        w = max(0.0, min(1.0, float(v))) * (width - left - 60)
        y = 5 + i * row
        out.append(f'<text x="{left - 6}" y="{y + 14}" class="ax" text-anchor="end">{esc(name)}</text>'
                   f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{row - 6}" '
                   f'fill="{OKABE_ITO[i % len(OKABE_ITO)]}"/><text x="{left + w + 4:.1f}" y="{y + 14}" '
                   f'class="ax">{pct(v)}</text>')
    out.append("</svg>")
    return "".join(out)


def tree_graph(tree: dict, *, title: str) -> str:
    """An attribution tree: nodes placed by layer (rows, top layer first) and token position."""
    nodes, edges = tree.get("nodes", []), tree.get("edges", [])
    if not nodes:
        return '<p class="muted">No connection passed the threshold for this example.</p>'
    positions = sorted({n["position"] for n in nodes})
    layers = sorted({n["layer"] for n in nodes}, reverse=True)
    col_w, row_h, left, top = 90, 56, 60, 24
    width = left + col_w * len(positions) + 20
    height = top + row_h * len(layers) + 10
    xy = {n["id"]: (left + col_w * positions.index(n["position"]) + col_w / 2,
                    top + row_h * layers.index(n["layer"]) + 14) for n in nodes}
    top_score = max((abs(float(e["score"])) for e in edges), default=1.0) or 1.0
    out = [f'<svg class="plot tree" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" aria-label="{esc(title)}"><title>{esc(title)}</title>']
    for i, layer in enumerate(layers):
        out.append(f'<text x="6" y="{top + row_h * i + 18}" class="ax">layer {layer}</text>')
    for e in edges:
        (x1, y1), (x2, y2) = xy[e["source"]], xy[e["target"]]
        sw = 1 + 4 * abs(float(e["score"])) / top_score
        out.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{OKABE_ITO[0]}" '
                   f'stroke-width="{sw:.2f}" stroke-opacity="0.75"><title>{num(e["score"])}</title></line>')
    for n in nodes:
        x, y = xy[n["id"]]
        out.append(f'<g class="node"><rect x="{x - 40:.1f}" y="{y - 11:.1f}" width="80" height="20" rx="4" '
                   f'fill="#fff" stroke="{OKABE_ITO[1]}" stroke-width="1.5"/><text x="{x:.1f}" '
                   f'y="{y + 4:.1f}" text-anchor="middle" class="tok">{esc(n["token"])}</text></g>')
    out.append("</svg>")
    return "".join(out)
