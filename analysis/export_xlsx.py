"""XLSX export of stored results (registered in `analysis.export_formats`).

Results XLSX (`results_xlsx`): a sheet "Whole sample" and one per segment ("<number> <name>",
Excel-safe, at most 31 characters, unique), or only the chosen segment's sheet, then an "About"
sheet (survey, run, finish time, n, parameters, formulas). Each results sheet has the CSV's
columns in the CSV's order and the same values: numbers as numbers, unrounded (to the 16
significant digits openpyxl writes; displayed with 3 decimals), booleans as TRUE/FALSE,
text neutralised as in the CSV and always stored as text, so no cell is ever a formula. Rows
are tinted by band; the header is bold and frozen with an autofilter.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Sequence

from analysis.core.numbers import finite_or_none
from analysis.exports import RESULT_COLUMNS, neutralise, result_values
from analysis.models import AnalysisRun, SegmentResult

WHOLE_SAMPLE_SHEET = "Whole sample"
ABOUT_SHEET = "About"
MAX_SHEET_NAME = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f]")
# band: (row tint, band cell fill, band cell font); dark text on the tints and on the yellow and
# grey fills, white on the dark red and orange ones: each pair has a contrast ratio of 5:1 or more.
BAND_STYLES: dict[str, tuple[str, str, str]] = {
    "extreme": ("F8D7DA", "9B1C1C", "FFFFFF"),
    "high": ("FDE5CC", "C2410C", "FFFFFF"),
    "solid": ("FFF4C2", "FACC15", "000000"),
    "low": ("EEF2F6", "CBD5E1", "000000"),
}
_DECIMAL_COLUMNS = frozenset(
    c
    for c in RESULT_COLUMNS
    if c.startswith(("importance", "satisfaction", "opportunity", "mean_", "unmet_", "p_top"))
    or c in ("rank_lower", "rank_upper")
)
_MAX_COLUMN_WIDTH = 60
FORMULAS: tuple[tuple[str, str], ...] = (
    ("importance", "I = 10 × share of importance answers rated 4 or 5 (0–10)"),
    ("satisfaction", "S = 10 × share of satisfaction answers rated 4 or 5 (0–10)"),
    ("opportunity", "O = I + max(I − S, 0) (0–20)"),
    ("band", "extreme O > 15; high 12 < O ≤ 15; solid 10 < O ≤ 12; low O ≤ 10; n/a undefined"),
    ("overserved", "S > I"),
    ("n, n_satisfaction", "valid importance / satisfaction answers"),
    ("*_lower, *_upper", "95% percentile bootstrap interval (resamples of respondents)"),
    ("p_top10", "share of bootstrap resamples ranking the outcome in the top 10"),
    ("rank_lower, rank_upper", "95% bootstrap interval of the rank (1 = highest O)"),
    ("small_group", "fewer valid answers than the small-group threshold"),
    ("mean_importance, mean_satisfaction", "mean of the 1–5 ratings"),
    ("mean_gap", "mean of importance − satisfaction over respondents who answered both (−4…4)"),
    ("opportunity_to_add_value", "(I / 10) × (1 − S / 10) (0–1)"),
    (
        "unmet_share, unmet_share_rest",
        "share rating importance 4–5 and satisfaction 1–3: "
        "in the segment, in the rest of the sample",
    ),
    ("unmet_q_value", "Benjamini–Hochberg q-value of the difference in unmet share"),
    ("distinctive", "unmet here more often than in the rest (q < 0.05)"),
)


def sheet_title(text: str, taken: set[str]) -> str:
    """An Excel-safe, unique (ignoring case) sheet name of at most 31 characters; adds it to
    `taken` (lower-cased)."""
    name = " ".join(_SHEET_FORBIDDEN.sub(" ", text).split())
    name = name[:MAX_SHEET_NAME].strip().strip("'").strip() or "Sheet"
    candidate, i = name, 2
    # "History" is reserved by Excel.
    while candidate.lower() in taken or candidate.lower() == "history":
        suffix = f" ({i})"
        candidate = name[: MAX_SHEET_NAME - len(suffix)].rstrip() + suffix
        i += 1
    taken.add(candidate.lower())
    return candidate


def _xlsx_value(value: object) -> object:
    """What a results cell holds: numbers and booleans as themselves, text as the CSV writes it
    (characters XML cannot hold are dropped first, so the neutralising still applies)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value if finite_or_none(value) is not None else repr(value)
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return neutralise(ILLEGAL_CHARACTERS_RE.sub("", str(value)))


def _put(ws, row: int, column: int, value: object):
    cell_ = ws.cell(row=row, column=column)
    cell_.value = _xlsx_value(value)
    if isinstance(cell_.value, str):
        cell_.data_type = "s"  # text, never a formula, whatever it starts with
    return cell_


def _results_sheet(ws, rows: Sequence[tuple]) -> None:
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for j, name in enumerate(RESULT_COLUMNS, start=1):
        _put(ws, 1, j, name).font = bold
    band_at = RESULT_COLUMNS.index("band")
    tints = {b: PatternFill("solid", fgColor=s[0]) for b, s in BAND_STYLES.items()}
    fills = {b: PatternFill("solid", fgColor=s[1]) for b, s in BAND_STYLES.items()}
    fonts = {b: Font(bold=True, color=s[2]) for b, s in BAND_STYLES.items()}
    widths = [len(name) for name in RESULT_COLUMNS]
    for i, values in enumerate(rows, start=2):
        band = values[band_at]
        for j, (name, value) in enumerate(zip(RESULT_COLUMNS, values, strict=True), start=1):
            cell_ = _put(ws, i, j, value)
            if name in _DECIMAL_COLUMNS and isinstance(cell_.value, float):
                cell_.number_format = "0.000"  # shown rounded, stored unrounded
                widths[j - 1] = max(widths[j - 1], 6)
            elif cell_.value is not None:
                widths[j - 1] = max(widths[j - 1], len(str(cell_.value)))
            if band in BAND_STYLES:
                cell_.fill = fills[band] if j - 1 == band_at else tints[band]
                if j - 1 == band_at:
                    cell_.font = fonts[band]
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(width + 2, _MAX_COLUMN_WIDTH)
    ws.freeze_panes = "A2"
    last = get_column_letter(len(RESULT_COLUMNS))
    ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"


def about_lines(run: AnalysisRun, shown: str) -> list[tuple[object, object]]:
    """The "About" facts of a run's workbooks: survey, run, n, segments, design, parameters."""
    survey = run.survey
    segmentation = run.segmentation or {}
    if run.segments_found:
        segments = f"{segmentation.get('k', run.segments.count())} found"
    else:
        segments = "none found" + (
            f": {segmentation['reason']}" if segmentation.get("reason") else ""
        )
    lines: list[tuple[object, object]] = [
        ("Survey", survey.title),
        ("Survey id", survey.pk),
        ("Analysis run", run.pk),
        ("Finished", run.finished_at.isoformat() if run.finished_at else ""),
        ("Respondents (n)", run.n_respondents),
        ("Outcomes", run.n_outcomes),
        ("Segments", segments),
        ("Planned subsets", _design_text(survey)),
        ("This workbook", shown),
        (None, None),
        ("Parameters", None),
    ]
    for key, value in sorted((run.parameters or {}).items()):
        text = value if isinstance(value, int | float | str) else json.dumps(value)
        lines.append((key, text))
    return lines


def _about_sheet(ws, run: AnalysisRun, shown: str) -> None:
    from openpyxl.styles import Font

    lines = [*about_lines(run, shown), (None, None), ("Formulas", None), *FORMULAS]
    bold = Font(bold=True)
    for i, (label, value) in enumerate(lines, start=1):
        if label is not None:
            _put(ws, i, 1, label).font = bold
        if value is not None:
            _put(ws, i, 2, value)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 90


def _design_text(survey) -> str:
    """The planned-subset design of the survey's versions in words (K, core set, seed): one
    sentence when every version had the same, else one per version."""
    words = [
        (version.number, _one_design(version.content))
        for version in survey.versions.order_by("number")
    ]
    if len({text for _, text in words}) <= 1:
        return words[0][1] if words else _one_design({})
    return "; ".join(f"version {number}: {text}" for number, text in words)


def _one_design(content: dict) -> str:
    design = content.get("design")
    if not design:
        return "off: every respondent was asked every outcome"
    core = ", ".join(design["core"]) or "none"
    return (
        f"each respondent rated {design['k']} of {len(content['outcome_codes'])} outcomes "
        f"(core, rated by everyone: {core}; seed {design['seed']}); ratings not shown by design "
        "are left out of each outcome's n"
    )


def results_xlsx(run: AnalysisRun, segment: SegmentResult | None = None) -> bytes:
    """The results workbook: whole sample and every segment, or only `segment`; then "About"."""
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    taken = {ABOUT_SHEET.lower()}
    if segment is None:
        groups: list[tuple[str, SegmentResult | None]] = [(WHOLE_SAMPLE_SHEET, None)]
        taken.add(WHOLE_SAMPLE_SHEET.lower())
        for seg in run.segments.order_by("number"):
            groups.append((sheet_title(f"{seg.number} {seg.display_name}", taken), seg))
        shown = "the whole sample and each segment"
    else:
        groups = [(sheet_title(f"{segment.number} {segment.display_name}", taken), segment)]
        shown = f"segment {segment.number} ({segment.display_name}) only"
    for title, group in groups:
        _results_sheet(workbook.create_sheet(title), result_values(run, group))
    _about_sheet(workbook.create_sheet(ABOUT_SHEET), run, shown)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
