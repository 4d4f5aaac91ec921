"""The opportunity landscape as SVG text, drawn from plain points (no Django, no database).

The chart (Strategyn's layout): satisfaction S on the horizontal axis, importance I on the
vertical one, both 0–10. Drawn on it:

* the I = S diagonal: above it outcomes are underserved, below it overserved;
* the opportunity contours O = 10, 12, 15 with O = I + max(I − S, 0). Above the diagonal O = c is
  2I − S = c, the segment from (S = 0, I = c/2) to (S = 20 − c, I = 10); below the diagonal O = I,
  so O = c ≥ 10 never enters the square there (O = 10 touches it only at its corner (10, 10));
* the zones between the contours tinted like the bands they bound (extreme O > 15, high 12–15,
  solid 10–12, low ≤ 10);
* one marker per outcome, coloured by band *and* shaped by band (diamond, triangle, square, hollow
  circle), so colour is never the only cue; labelled with its code where the label fits without
  covering another label or marker (highest opportunities are labelled first, so a crowded chart
  drops the labels that matter least; the note under the legend says how many);
* a legend and a note with the formula.

With ``interactive=True`` (the page and the downloadable SVG) each marker is a focusable
``<g tabindex="0" role="img">`` named by its code, statement and scores, with a ``<title>`` (the
hover tooltip) and a drawn tooltip shown on hover and on keyboard focus by CSS inside the SVG.
With ``interactive=False`` (the source of the PNG) those are left out; everything drawn is the same.

Every piece of researcher text is escaped, and characters XML 1.0 forbids are dropped, so the
output always parses as XML. The viewBox is fixed (``WIDTH`` × ``HEIGHT``); the SVG scales to
any width. Where things go (the geometry, the contours, the label placement) is worked out in
analysis/chart_layout.py; this module writes the SVG.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from analysis.chart_layout import (
    CONTOURS,
    HEIGHT,
    LABEL_SIZE,
    PLOT_LEFT,
    WIDTH,
    Frame,
    Point,
    clean,
    contour,
    contour_label_anchor,
    diagonal_captions,
    place_labels,
    shorten,
    text_width,
)
from analysis.core.numbers import finite_or_none

__all__ = ["landscape_svg"]


FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', Arial, sans-serif"
INK = "#1b2430"
MUTED = "#4f5b6a"
TIP_SIZE = 12


@dataclass(frozen=True)
class Style:
    label: str
    fill: str
    stroke: str
    zone: str  # tint of the zone of the band; "" for none
    shape: str


# Okabe–Ito hues (distinguishable with the common colour-vision deficiencies), each marker with a
# dark outline so its edge keeps 3:1 contrast on white whatever its fill.
BANDS: dict[str, Style] = {
    "extreme": Style("Extreme (O > 15)", "#d55e00", INK, "#fbe3d6", "diamond"),
    "high": Style("High (12 < O ≤ 15)", "#e69f00", INK, "#fdf0d2", "triangle"),
    "solid": Style("Solid (10 < O ≤ 12)", "#0072b2", INK, "#e1edf7", "square"),
    "low": Style("Low (O ≤ 10)", "#ffffff", MUTED, "", "circle"),
}
CONTOUR_COLOURS = {15: "#a04000", 12: "#8a5a00", 10: "#005a8c"}

_SHAPES = {
    "diamond": "M0,-6.6L6.6,0L0,6.6L-6.6,0Z",
    "triangle": "M0,-6.6L6.2,4.6L-6.2,4.6Z",
    "square": "M-4.8,-4.8H4.8V4.8H-4.8Z",
    "circle": "M-4.8,0A4.8,4.8 0 1,0 4.8,0A4.8,4.8 0 1,0 -4.8,0Z",
}

_ID = re.compile(r"^[A-Za-z][\w-]*$")


def landscape_svg(
    points: Iterable[Point],
    *,
    title: str,
    subtitle: str = "",
    interactive: bool = True,
    id_prefix: str = "landscape",
    described_by: Sequence[str] = (),
) -> str:
    """The chart as an ``<svg>`` element (no XML declaration, so it can be inlined in HTML).

    ``id_prefix`` makes the ids unique on a page with several charts; ``described_by`` adds ids
    of elements outside the SVG (the page's table of the points) to its ``aria-describedby``."""
    if not _ID.match(id_prefix):
        raise ValueError(f"id_prefix must be a plain identifier, not {id_prefix!r}")
    points = list(points)
    frame = Frame()
    plotted = [p for p in points if p.plottable]
    p = id_prefix
    out: list[str] = []
    describedby = " ".join([f"{p}-desc", *described_by])
    out.append(
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{p}" class="landscape-chart" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="group" '
        f'aria-labelledby="{p}-title" aria-describedby="{_attr(describedby)}" '
        f'font-family="{_attr(FONT)}">'
    )
    out.append(f'<title id="{p}-title">{_text(title)}</title>')
    labels, skipped = place_labels(plotted, frame)
    out.append(f'<desc id="{p}-desc">{_text(_description(points, plotted, skipped))}</desc>')
    if interactive:
        out.append(_style(p, len(plotted)))
    out.append(f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>')
    out.append(
        f'<text x="{PLOT_LEFT - 44}" y="22" font-size="15" font-weight="700" fill="{INK}">'
        f"{_text(shorten(title, 70))}</text>"
    )
    if subtitle:
        out.append(
            f'<text x="{PLOT_LEFT - 44}" y="40" font-size="12" fill="{MUTED}">'
            f"{_text(shorten(subtitle, 90))}</text>"
        )
    out.extend(_axes(frame))
    out.extend(_points(plotted, frame, p, interactive))
    out.append(f'<g class="labels" font-size="{LABEL_SIZE}" fill="{INK}" aria-hidden="true">')
    for label in labels:
        out.append(
            f'<text x="{label.x:.1f}" y="{label.y:.1f}" text-anchor="{label.anchor}">'
            f"{_text(label.text)}</text>"
        )
    out.append("</g>")
    out.extend(_legend(frame, len(points) - len(plotted), skipped))
    if interactive:
        out.extend(_tooltips(plotted, frame, p))
    out.append("</svg>")
    return "\n".join(out)


# Drawing -------------------------------------------------------------------------------------


def _axes(frame: Frame) -> list[str]:
    f = frame
    out = ['<g aria-hidden="true">']
    # Zones of the bands: polygons between the contours, above the diagonal.
    zones: list[tuple[str, list[tuple[float, float]]]] = [
        ("extreme", [(0, 7.5), (5, 10), (0, 10)]),
        ("high", [(0, 6), (8, 10), (5, 10), (0, 7.5)]),
        ("solid", [(0, 5), (10, 10), (8, 10), (0, 6)]),
    ]
    for band, corners in zones:
        pts = " ".join(f"{f.x(s):.1f},{f.y(i):.1f}" for s, i in corners)
        out.append(f'<polygon class="zone" points="{pts}" fill="{BANDS[band].zone}"/>')
    for v in range(11):
        out.append(
            f'<line x1="{f.x(v):.1f}" y1="{f.top}" x2="{f.x(v):.1f}" y2="{f.bottom}" '
            f'stroke="#d5dbe3" stroke-width="0.8"/>'
        )
        out.append(
            f'<line x1="{f.left}" y1="{f.y(v):.1f}" x2="{f.right}" y2="{f.y(v):.1f}" '
            f'stroke="#d5dbe3" stroke-width="0.8"/>'
        )
        out.append(
            f'<text x="{f.x(v):.1f}" y="{f.bottom + 17}" font-size="12" fill="{MUTED}" '
            f'text-anchor="middle">{v}</text>'
        )
        out.append(
            f'<text x="{f.left - 7}" y="{f.y(v) + 4:.1f}" font-size="12" fill="{MUTED}" '
            f'text-anchor="end">{v}</text>'
        )
    out.append(
        f'<rect x="{f.left}" y="{f.top}" width="{f.size}" height="{f.size}" fill="none" '
        f'stroke="{MUTED}" stroke-width="1"/>'
    )
    # The diagonal I = S.
    out.append(
        f'<line class="diagonal" x1="{f.x(0):.1f}" y1="{f.y(0):.1f}" x2="{f.x(10):.1f}" '
        f'y2="{f.y(10):.1f}" stroke="{MUTED}" stroke-width="1.4"/>'
    )
    for text, (x, y) in diagonal_captions(f):
        out.append(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="11" font-style="italic" fill="{MUTED}" '
            f'text-anchor="middle" transform="rotate(-45 {x:.1f} {y:.1f})">{_text(text)}</text>'
        )
    for c in CONTOURS:
        (s0, i0), (s1, i1) = contour(c)
        colour = CONTOUR_COLOURS[c]
        out.append(
            f'<line class="contour" data-o="{c}" x1="{f.x(s0):.1f}" y1="{f.y(i0):.1f}" '
            f'x2="{f.x(s1):.1f}" y2="{f.y(i1):.1f}" stroke="{colour}" stroke-width="1.6" '
            f'stroke-dasharray="7 4"/>'
        )
        lx, ly = contour_label_anchor(c, f)
        out.append(
            f'<text x="{lx:.1f}" y="{ly:.1f}" font-size="12" font-weight="700" fill="{colour}" '
            f'text-anchor="middle">O = {c}</text>'
        )
    # Axis titles: importance up the left side, satisfaction along the bottom.
    cy = f.top + f.size / 2
    out.append(
        f'<text x="16" y="{cy:.1f}" font-size="13" font-weight="700" fill="{INK}" '
        f'text-anchor="middle" transform="rotate(-90 16 {cy:.1f})">'
        "Importance (0–10, vertical) →</text>"
    )
    out.append(
        f'<text x="{f.left + f.size / 2:.1f}" y="{f.bottom + 38}" font-size="13" '
        f'font-weight="700" fill="{INK}" text-anchor="middle">'
        "Satisfaction (0–10, horizontal) →</text>"
    )
    out.append("</g>")
    return out


def _points(plotted: list[Point], f: Frame, p: str, interactive: bool) -> list[str]:
    out = ['<g class="points">']
    for n, point in enumerate(plotted):
        style = BANDS.get(point.band, BANDS["low"])
        x, y = f.at(point)
        marker = (
            f'<path class="mk" d="{_SHAPES[style.shape]}" fill="{style.fill}" '
            f'fill-opacity="0.92" stroke="{style.stroke}" stroke-width="1.2"/>'
        )
        if not interactive:
            out.append(f'<g transform="translate({x:.1f} {y:.1f})">{marker}</g>')
            continue
        name = _describe(point)
        out.append(
            f'<g id="{p}-pt-{n}" class="pt" data-code="{_attr(point.code)}" '
            f'transform="translate({x:.1f} {y:.1f})" tabindex="0" role="img" '
            f'aria-label="{_attr(name)}"><title>{_text(name)}</title>'
            f'<circle class="ring" r="10" fill="none" stroke="#1d4ed8" stroke-width="2.5" '
            f'display="none"/>'
            # A larger transparent target makes small markers easy to hover and tap.
            f'<circle r="9" fill="#ffffff" fill-opacity="0"/>{marker}</g>'
        )
    out.append("</g>")
    return out


def _legend(f: Frame, unplotted: int, skipped: int) -> list[str]:
    y = f.bottom + 62
    out = ['<g class="legend" font-size="12">']
    x = float(f.left - 44)
    step = (WIDTH - x - 4) / 2
    for n, style in enumerate(BANDS.values()):
        cx = x + (n % 2) * step + 8
        cy = y + (n // 2) * 20
        out.append(
            f'<path transform="translate({cx:.1f} {cy - 4:.1f})" d="{_SHAPES[style.shape]}" '
            f'fill="{style.fill}" stroke="{style.stroke}" stroke-width="1.2"/>'
            f'<text x="{cx + 13:.1f}" y="{cy:.1f}" fill="{INK}">{_text(style.label)}</text>'
        )
    cy = y + 40
    out.append(
        f'<line x1="{x:.1f}" y1="{cy - 4}" x2="{x + 18:.1f}" y2="{cy - 4}" stroke="{MUTED}" '
        f'stroke-width="1.4"/><text x="{x + 23:.1f}" y="{cy}" fill="{INK}">I = S</text>'
    )
    lx = x + step
    for k, c in enumerate(CONTOURS):
        out.append(
            f'<line x1="{lx + k * 16:.1f}" y1="{cy - 4}" x2="{lx + 12 + k * 16:.1f}" '
            f'y2="{cy - 4}" stroke="{CONTOUR_COLOURS[c]}" stroke-width="1.6" '
            f'stroke-dasharray="5 2"/>'
        )
    out.append(f'<text x="{lx + 50:.1f}" y="{cy}" fill="{INK}">O = 10, 12, 15</text>')
    notes = ["Opportunity O = I + max(I − S, 0)."]
    if skipped:
        notes.append(f"{skipped} crowded labels left off; the table lists every outcome.")
    if unplotted:
        notes.append(f"{unplotted} without scores not plotted.")
    out.append(
        f'<text x="{x:.1f}" y="{y + 64}" font-size="11.5" fill="{MUTED}">'
        f"{_text(' '.join(notes))}</text>"
    )
    out.append("</g>")
    return out


def _tooltips(plotted: list[Point], f: Frame, p: str) -> list[str]:
    """One hidden tooltip per point, drawn last so it lies above every marker and label."""
    out = ['<g class="tips" aria-hidden="true">']
    for n, point in enumerate(plotted):
        lines = [f"{point.code} · {point.band}"]
        lines += textwrap.wrap(clean(point.statement), 44, max_lines=4, placeholder=" …") or [""]
        lines.append(_scores(point))
        w = max(text_width(line, TIP_SIZE) for line in lines) * 0.92 + 16
        h = len(lines) * (TIP_SIZE + 4) + 10
        x, y = f.at(point)
        tx = x + 12 if x + 12 + w <= WIDTH - 2 else max(2.0, x - 12 - w)
        ty = y - h - 10 if y - h - 10 >= 2 else y + 12
        out.append(
            f'<g id="{p}-tip-{n}" class="tip" display="none" '
            f'transform="translate({tx:.1f} {ty:.1f})">'
            f'<rect width="{w:.1f}" height="{h}" rx="5" fill="{INK}" fill-opacity="0.95"/>'
        )
        for k, line in enumerate(lines):
            weight = ' font-weight="700"' if k == 0 else ""
            out.append(
                f'<text x="8" y="{18 + k * (TIP_SIZE + 4)}" font-size="{TIP_SIZE}" '
                f'fill="#ffffff"{weight}>{_text(line)}</text>'
            )
        out.append("</g>")
    out.append("</g>")
    return out


def _style(p: str, n: int) -> str:
    """Focus and hover styles; the tooltip of a point shows while it is hovered or focused."""
    rules = [
        f"#{p}{{width:100%;height:auto}}",
        f"#{p} .pt{{cursor:pointer;outline:none}}",
        f"#{p} .pt:focus .ring,#{p} .pt:hover .ring{{display:inline}}",
        f"#{p} .pt:focus .mk{{stroke-width:2.4}}",
    ]
    rules += [
        f"#{p}:has(#{p}-pt-{i}:hover,#{p}-pt-{i}:focus) #{p}-tip-{i}{{display:inline}}"
        for i in range(n)
    ]
    return "<style>" + "\n".join(rules) + "</style>"


# Text ----------------------------------------------------------------------------------------


def _description(points: list[Point], plotted: list[Point], skipped: int) -> str:
    counts = {band: 0 for band in BANDS}
    for point in plotted:
        counts[point.band if point.band in counts else "low"] += 1
    parts = [
        f"Scatter chart of {len(plotted)} outcomes: importance (0–10) on the vertical axis "
        "against satisfaction (0–10) on the horizontal axis, with the diagonal where importance "
        "equals satisfaction and the opportunity 10, 12 and 15 lines.",
        "By band: " + ", ".join(f"{counts[b]} {b}" for b in BANDS) + ".",
    ]
    top = sorted(plotted, key=lambda p: -(p.opportunity or 0.0))[:3]
    if top:
        parts.append("Highest opportunities: " + "; ".join(_describe(p) for p in top) + ".")
    if len(points) > len(plotted):
        unscored = len(points) - len(plotted)
        verb = "is" if unscored == 1 else "are"
        parts.append(f"{_count(unscored, 'outcome')} without scores {verb} not plotted.")
    if skipped:
        verb = "is" if skipped == 1 else "are"
        parts.append(f"{_count(skipped, 'label')} of crowded points {verb} left off.")
    return " ".join(parts)


def _count(n: int, noun: str) -> str:
    """ "1 outcome", "2 outcomes": the chart's text agrees with its counts."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _describe(point: Point) -> str:
    return f"{clean(point.code)}: {clean(point.statement)}; {_scores(point, long=True)}"


def _scores(point: Point, *, long: bool = False) -> str:
    i, s, o = (_num(v) for v in (point.importance, point.satisfaction, point.opportunity))
    if long:
        return f"importance {i}, satisfaction {s}, opportunity {o} ({point.band})"
    return f"Importance {i} · Satisfaction {s} · Opportunity {o}"


def _num(value: float | None) -> str:
    return f"{value:.1f}" if finite_or_none(value) is not None else "n/a"


def _text(value: str) -> str:
    return escape(clean(value))


def _attr(value: str) -> str:
    return escape(clean(value), {'"': "&quot;", "'": "&#x27;"})
