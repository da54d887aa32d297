"""Minimal inline-SVG charts (line, step and bar charts, tile maps) for a self-contained report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape

import numpy as np

WIDTH, HEIGHT = 560, 260
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 110, 28, 40
FONT = 'font-family="sans-serif" font-size="11"'
Scale = Callable[[float], float]
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values (steps of 1, 2 or 5 x 10^k) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n - 1, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = np.ceil(lo / step) * step
    return [float(v) for v in np.arange(first, hi + step * 1e-9, step)]


def _fmt(v: float) -> str:
    """Short tick label: 1.5k, 2M, 0.002, 37."""
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.3g}M"
    if a >= 1e4:
        return f"{v / 1e3:.3g}k"
    if a != 0 and a < 0.01:
        return f"{v:.1g}"
    return f"{v:.4g}"


def _frame(title: str, xlabel: str, ylabel: str, x_range: tuple[float, float],
           y_range: tuple[float, float]) -> tuple[list[str], Scale, Scale]:
    x0, x1 = x_range
    y0, y1 = y_range
    if x1 <= x0:
        x1 = x0 + 1
    if y1 <= y0:
        y1 = y0 + 1
    pw, ph = WIDTH - MARGIN_L - MARGIN_R, HEIGHT - MARGIN_T - MARGIN_B

    def sx(x: float) -> float:
        return MARGIN_L + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return MARGIN_T + ph - (y - y0) / (y1 - y0) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" {FONT}>',
             f'<text x="{WIDTH / 2}" y="16" text-anchor="middle" font-size="13" '
             f'font-weight="600">{escape(title)}</text>',
             f'<rect x="{MARGIN_L}" y="{MARGIN_T}" width="{pw}" height="{ph}" fill="#fafafa" '
             'stroke="#bbb"/>']
    for t in _ticks(y0, y1):
        parts.append(f'<line x1="{MARGIN_L}" x2="{MARGIN_L + pw}" y1="{sy(t):.1f}" '
                     f'y2="{sy(t):.1f}" stroke="#e4e4e4"/>'
                     f'<text x="{MARGIN_L - 4}" y="{sy(t) + 4:.1f}" text-anchor="end">'
                     f'{_fmt(t)}</text>')
    for t in _ticks(x0, x1):
        parts.append(f'<text x="{sx(t):.1f}" y="{MARGIN_T + ph + 14}" text-anchor="middle">'
                     f'{_fmt(t)}</text>')
    parts.append(f'<text x="{MARGIN_L + pw / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
                 f'{escape(xlabel)}</text>'
                 f'<text transform="translate(12,{MARGIN_T + ph / 2}) rotate(-90)" '
                 f'text-anchor="middle">{escape(ylabel)}</text>')
    return parts, sx, sy


def _legend(parts: list[str], names: Sequence[str]) -> None:
    for i, name in enumerate(names):
        y = MARGIN_T + 14 * i + 6
        colour = PALETTE[i % len(PALETTE)]
        parts.append(f'<rect x="{WIDTH - MARGIN_R + 8}" y="{y - 8}" width="10" height="10" '
                     f'fill="{colour}"/><text x="{WIDTH - MARGIN_R + 22}" y="{y + 1}">'
                     f'{escape(name)}</text>')


def line_chart(title: str, xlabel: str, ylabel: str,
               series: Mapping[str, tuple[Sequence[float], Sequence[float]]],
               y_min: float | None = None, dashed: Sequence[str] = (), step: bool = False) -> str:
    """Lines (one per named series of x, y); `dashed` names series drawn dashed."""
    xs = [float(x) for xv, _ in series.values() for x in xv]
    ys = [float(y) for _, yv in series.values() for y in yv if np.isfinite(y)]
    if not xs or not ys:
        return f'<p class="empty">{escape(title)}: no data</p>'
    lo = min(ys) if y_min is None else min(y_min, min(ys))
    parts, sx, sy = _frame(title, xlabel, ylabel, (min(xs), max(xs)), (lo, max(ys)))
    for i, (name, (xv, yv)) in enumerate(series.items()):
        pts = []
        prev_y = None
        for x, y in zip(xv, yv, strict=True):
            if step and prev_y is not None:
                pts.append(f"{sx(x):.1f},{sy(prev_y):.1f}")
            pts.append(f"{sx(x):.1f},{sy(y):.1f}")
            prev_y = y
        dash = ' stroke-dasharray="5,3"' if name in dashed else ""
        parts.append(f'<polyline fill="none" stroke="{PALETTE[i % len(PALETTE)]}" '
                     f'stroke-width="1.6"{dash} points="{" ".join(pts)}"/>')
    _legend(parts, list(series))
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, xlabel: str, ylabel: str, labels: Sequence[str],
              values: Sequence[float], highlight_from: int | None = None) -> str:
    """Vertical bars centred on x = 1, 2, ...; bars from index `highlight_from` on are drawn in
    the second colour."""
    if not values:
        return f'<p class="empty">{escape(title)}: no data</p>'
    parts, sx, sy = _frame(title, xlabel, ylabel, (0.5, len(values) + 0.5), (0, max(values)))
    width = (WIDTH - MARGIN_L - MARGIN_R) / len(values)
    for i, v in enumerate(values):
        colour = PALETTE[1] if highlight_from is not None and i >= highlight_from else PALETTE[0]
        top = sy(v)
        parts.append(f'<rect x="{sx(i + 0.5) + 0.5:.1f}" y="{top:.1f}" '
                     f'width="{max(width - 1, 0.5):.1f}" height="{sy(0) - top:.1f}" '
                     f'fill="{colour}"><title>{escape(labels[i])}: {_fmt(v)}</title></rect>')
    parts.append("</svg>")
    return "".join(parts)


def tile_map(title: str, tiles: Sequence[int], values: Sequence[float], unit: str) -> str:
    """One coloured square per tile (swath rows, tile columns) with its value written in it."""
    if not tiles:
        return f'<p class="empty">{escape(title)}: no data</p>'
    lo, hi = min(values), max(values)
    size = 70
    cols = max(t % 100 for t in tiles)
    rows = sorted({t // 100 for t in tiles})
    w, h = 20 + cols * (size + 6), 40 + len(rows) * (size + 6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
             f'aria-label="{escape(title)}" {FONT}><text x="10" y="16" font-size="13" '
             f'font-weight="600">{escape(title)}</text>']
    for t, v in zip(tiles, values, strict=True):
        frac = 0.5 if hi == lo else (v - lo) / (hi - lo)
        colour = f"rgb({int(230 - 180 * frac)},{int(120 + 100 * frac)},{int(200 - 120 * frac)})"
        x = 10 + (t % 100 - 1) * (size + 6)
        y = 28 + rows.index(t // 100) * (size + 6)
        parts.append(f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="{colour}"/>'
                     f'<text x="{x + size / 2}" y="{y + 30}" text-anchor="middle">{t}</text>'
                     f'<text x="{x + size / 2}" y="{y + 48}" text-anchor="middle">'
                     f'{_fmt(v)}{escape(unit)}</text>')
    parts.append("</svg>")
    return "".join(parts)
