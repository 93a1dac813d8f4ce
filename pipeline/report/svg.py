"""Static SVG plots generated in Python: heatmaps, line charts, bar charts, tree graphs.

Every number drawn or put in a tooltip goes through ``pipeline.report.format``.
"""

from __future__ import annotations

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


def line_chart(series: Sequence[dict], *, x_label: str, y_label: str, title: str,
               width: int = 460, height: int = 260, y_as_pct: bool = True) -> str:
    """Lines ``{"name", "x": [...], "y": [...], "dash": bool, "color": int}`` with markers,
    axes from 0..1 in y, a legend, and a tooltip per point."""
    left, right, top, bottom = 48, 150, 16, 40
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
           f'height="{height}" aria-label="{esc(title)}"><title>{esc(title)}</title>']
    for g in range(0, 5):
        y = g / 4
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{py(y):.1f}" y2="{py(y):.1f}" class="grid"/>'
                   f'<text x="{left - 4}" y="{py(y) + 4:.1f}" class="ax" text-anchor="end">{g * 25}%</text>')
    out.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}" class="axis"/>'
               f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" class="axis"/>')
    out.append(f'<text x="{left + pw / 2:.1f}" y="{height - 6}" class="ax" text-anchor="middle">'
               f'{esc(x_label)}</text><text x="12" y="{top + ph / 2:.1f}" class="ax" '
               f'transform="rotate(-90 12 {top + ph / 2:.1f})" text-anchor="middle">{esc(y_label)}</text>')
    for i, s in enumerate(series):
        color = OKABE_ITO[s.get("color", i) % len(OKABE_ITO)]
        pts = [(px(x), py(y)) for x, y in zip(s["x"], s["y"], strict=True) if y is not None]
        dash = ' stroke-dasharray="5 3"' if s.get("dash") else ""
        path = " ".join(f"{a:.1f},{b:.1f}" for a, b in pts)
        out.append(f'<polyline class="series" points="{path}" fill="none" stroke="{color}" '
                   f'stroke-width="2"{dash}/>')
        for (a, b), x, y in zip(pts, s["x"], s["y"], strict=False):
            out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{color}"><title>'
                       f'{esc(s["name"])}: {esc(x_label)} {num(x)}, {fmt(y)}</title></circle>')
        ly = top + 12 + i * 16
        out.append(f'<line x1="{left + pw + 10}" x2="{left + pw + 30}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/><text x="{left + pw + 34}" y="{ly}" '
                   f'class="ax">{esc(s["name"])}</text>')
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
