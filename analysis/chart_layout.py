"""Where things go on the opportunity landscape (see analysis/charts.py, which draws it): the
viewBox's geometry, scores to coordinates, the contours, text widths, and the greedy placement
of the outcome labels so that no label covers another label, a marker, a contour label or the
diagonal's captions. No Django, no database.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from analysis.core.numbers import finite_or_none


@dataclass(frozen=True)
class Point:
    """One outcome on the chart. Scores are 0–10 (I, S) and 0–20 (O); None when undefined."""

    code: str
    statement: str
    importance: float | None
    satisfaction: float | None
    opportunity: float | None
    band: str

    @property
    def plottable(self) -> bool:
        return finite_or_none(self.importance) is not None and (
            finite_or_none(self.satisfaction) is not None
        )


# Geometry of the viewBox (user units). The plot is a square; the legend sits under it.
WIDTH = 560
PLOT_LEFT = 62
PLOT_TOP = 58
PLOT_SIZE = 474
HEIGHT = PLOT_TOP + PLOT_SIZE + 134

LABEL_SIZE = 12.5
DIAGONAL_CAPTION_AT = 1.7  # where along I = S its captions are centred
CONTOURS = (10, 12, 15)
# Labels may run into the margins above and right of the plot, clear of the subtitle.
LABEL_TOP = 44
MARKER_RADIUS = 5.0  # half the extent of a marker that other labels must keep clear of

_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class Frame:
    """Maps scores to viewBox coordinates: x from satisfaction, y from importance (up)."""

    left: float = PLOT_LEFT
    top: float = PLOT_TOP
    size: float = PLOT_SIZE

    def x(self, satisfaction: float) -> float:
        return self.left + satisfaction / 10 * self.size

    def y(self, importance: float) -> float:
        return self.top + (1 - importance / 10) * self.size

    def at(self, point: Point) -> tuple[float, float]:
        """Where a plottable point's marker is centred."""
        return self.x(float(point.satisfaction or 0)), self.y(float(point.importance or 0))

    @property
    def right(self) -> float:
        return self.left + self.size

    @property
    def bottom(self) -> float:
        return self.top + self.size


def contour(c: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """The part of O = c (10 ≤ c ≤ 20) inside the 0–10 square, as ((S0, I0), (S1, I1)).

    Above the diagonal O = 2I − S, so O = c is I = (c + S)/2 for 0 ≤ S < c; clipped to I ≤ 10 it
    ends at S = 20 − c. Below the diagonal O = I ≤ 10, which reaches c only at the corner."""
    if not 10 <= c <= 20:
        raise ValueError(f"contours below 10 bend along the diagonal and are not drawn: {c}")
    return (0.0, c / 2), (20.0 - c, 10.0)


def text_width(text: str, size: float) -> float:
    """A generous estimate of the rendered width (DejaVu Sans is among the widest fallbacks)."""
    em = 0.0
    for ch in text:
        if ch.isdigit():
            em += 0.64
        elif ch.isupper():
            em += 0.74
        elif ch.islower():
            em += 0.6
        elif ch == " ":
            em += 0.32
        else:
            em += 0.55
    return em * size


DIAGONAL_CAPTIONS = ("Underserved (I > S)", "Overserved (S > I)")


def diagonal_captions(f: Frame) -> list[tuple[str, tuple[float, float]]]:
    """Which side of I = S is which, written along the diagonal low on the chart, where
    outcomes seldom lie (few have importance under 3): one caption above it, one below."""
    x, y = f.x(DIAGONAL_CAPTION_AT), f.y(DIAGONAL_CAPTION_AT)
    above, below = 4 / math.sqrt(2), 15 / math.sqrt(2)
    return [
        (DIAGONAL_CAPTIONS[0], (x - above, y - above)),
        (DIAGONAL_CAPTIONS[1], (x + below, y + below)),
    ]


def _diagonal_caption_boxes(f: Frame) -> list[Box]:
    """The captions' rotated extent as a chain of small squares, for the label placement."""
    boxes = []
    for text, (x, y) in diagonal_captions(f):
        half = text_width(text, 11) / 2
        for k in range(9):
            t = -half + k * half / 4
            # Along the text (rotated −45°) and a little towards its top, where glyphs lie.
            cx, cy = x + t / math.sqrt(2) + 3, y - t / math.sqrt(2) - 3
            boxes.append(Box(cx - 6, cy - 6, cx + 6, cy + 6))
    return boxes


def contour_label_anchor(c: int, f: Frame) -> tuple[float, float]:
    """Where the label of O = c sits: above the plot, over the line's upper end."""
    _, (s1, _) = contour(c)
    return min(f.x(s1), f.right - text_width(f"O = {c}", 12) / 2 + 12), f.top - 5


def _contour_label_box(c: int, f: Frame) -> Box:
    return label_box(f"O = {c}", *contour_label_anchor(c, f), "middle", 12)


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x0 < other.x1 and other.x0 < self.x1 and self.y0 < other.y1 and other.y0 < self.y1
        )

    def inside(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        return self.x0 >= x0 and self.y0 >= y0 and self.x1 <= x1 and self.y1 <= y1


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float
    anchor: str
    box: Box


def label_box(text: str, x: float, y: float, anchor: str, size: float = LABEL_SIZE) -> Box:
    """The box a label occupies, from its baseline anchor (used by the tests as well)."""
    w = text_width(text, size)
    x0 = {"start": x, "middle": x - w / 2, "end": x - w}[anchor]
    return Box(x0, y - 0.8 * size, x0 + w, y + 0.22 * size)


def place_labels(plotted: list[Point], f: Frame) -> tuple[list[Label], int]:
    """Greedy placement, best opportunity first: the first of eight spots around the marker
    whose box stays in the plot (or the margins above and right of it) and clears every placed
    label, every other marker, the contour labels and the diagonal's captions. A point with no
    such spot goes unlabelled; its tooltip and the table still name it."""
    centres = [f.at(p) for p in plotted]
    r = MARKER_RADIUS
    markers = [Box(x - r, y - r, x + r, y + r) for x, y in centres]
    fixed = _diagonal_caption_boxes(f)
    fixed += [_contour_label_box(c, f) for c in CONTOURS]
    order = sorted(
        range(len(plotted)),
        key=lambda i: (-(plotted[i].opportunity or 0.0), plotted[i].code),
    )
    placed: list[Label] = []
    skipped = 0
    gap = r + 2.5
    for i in order:
        text = shorten(clean(plotted[i].code), 12)
        x, y = centres[i]
        mid = y + 0.3 * LABEL_SIZE
        spots = [
            (x + gap, mid, "start"),
            (x - gap, mid, "end"),
            (x, y - gap - 1, "middle"),
            (x, y + gap + 0.8 * LABEL_SIZE, "middle"),
            (x + gap - 2, y - gap, "start"),
            (x + gap - 2, y + gap + 0.6 * LABEL_SIZE, "start"),
            (x - gap + 2, y - gap, "end"),
            (x - gap + 2, y + gap + 0.6 * LABEL_SIZE, "end"),
        ]
        for lx, ly, anchor in spots:
            box = label_box(text, lx, ly, anchor)
            if not box.inside(f.left + 1, LABEL_TOP, WIDTH - 2, f.bottom - 1):
                continue
            if any(box.overlaps(m) for j, m in enumerate(markers) if j != i):
                continue
            if any(box.overlaps(other.box) for other in placed):
                continue
            if any(box.overlaps(b) for b in fixed):
                continue
            placed.append(Label(text, lx, ly, anchor, box))
            break
        else:
            skipped += 1
    return placed, skipped


def clean(value: str) -> str:
    """Text with the characters XML 1.0 cannot carry removed and whitespace runs collapsed."""
    return " ".join(_NOT_XML.sub("", str(value)).split())


def shorten(value: str, limit: int) -> str:
    value = clean(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"
