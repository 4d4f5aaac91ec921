"""CSV exports of stored results, shared by the commands, pages and the API.

Results CSV (design.md, Interchange): one row per outcome, best opportunity first. Numbers are
unrounded (Python's shortest round-trip form), empty where undefined; booleans are true/false.
Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
return) get a leading apostrophe.

Segments CSV: ``respondent_id,segment``, one row per respondent the run analysed, in response
order; ``segment`` is the segment number (1 = largest), 1 for everyone when none was found.
Respondent ids are written exactly as they came (they are keys to join back to the source file,
set by the researcher's import or invitations), so they are not neutralised.

Results XLSX (`results_xlsx`): a sheet "Whole sample" and one per segment ("<number> <name>",
Excel-safe, at most 31 characters, unique), or only the chosen segment's sheet, then an "About"
sheet (survey, run, finish time, n, parameters, formulas). Each results sheet has the CSV's
columns in the CSV's order and the same values: numbers as numbers, unrounded (to the 16
significant digits openpyxl writes; displayed with 3 decimals), booleans as TRUE/FALSE,
text neutralised as in the CSV and always stored as text, so no cell is ever a formula. Rows
are tinted by band; the header is bold and frozen with an autofilter.

Respondents SAV (`respondents_sav`): one row per respondent of the run, in the order of the
segments CSV. Variable names are valid SPSS names (ASCII letters, digits and _, starting with a
letter, at most 64 characters, unique ignoring case; anything else becomes _, and a clash gets
_2, _3…):

- ``respondent_id`` (string);
- ``imp_<code>`` and ``sat_<code>`` per outcome (1–5, missing = system missing), labelled
  "Importance: <statement>" / "Satisfaction: <statement>", value labels the version's scale;
- per profile question with key K: single choice ``q_K`` coded 1…k in option order (value labels
  = options; answers no longer offered are appended); number ``q_K``; text ``q_K`` (string);
  multiple choice ``q_K_1`` … ``q_K_k``, one 0/1 variable per option, labelled
  "<question>: <option>" (missing when the question was not answered);
- ``current_solution`` coded 1…k by option plus k+1 "Something else", and
  ``current_solution_other`` (string) holding the "something else" text;
- ``nps`` (0–10) and ``ces`` (1–7) when asked; ``segment`` with the segment names as value labels
  (1 = "Everyone" when no segments were found).

Variable labels are cut to SPSS's 256 bytes and value labels to 120 bytes.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from analysis.models import AnalysisRun, OutcomeResult, SegmentMembership, SegmentResult
from jtbd.catalogue import FORMULA_PREFIXES
from surveys.models import (
    DEFAULT_IMPORTANCE_LABELS,
    DEFAULT_SATISFACTION_LABELS,
    QuestionKind,
    Response,
    Survey,
)
from surveys.ratings import assemble

RESULT_COLUMNS: tuple[str, ...] = (
    "rank",
    "code",
    "statement",
    "step",
    "stage",
    "n",
    "n_satisfaction",
    "importance",
    "importance_lower",
    "importance_upper",
    "satisfaction",
    "satisfaction_lower",
    "satisfaction_upper",
    "opportunity",
    "opportunity_lower",
    "opportunity_upper",
    "band",
    "overserved",
    "p_top10",
    "rank_lower",
    "rank_upper",
    "small_group",
    "mean_importance",
    "mean_satisfaction",
    "mean_gap",
    "opportunity_to_add_value",
    "unmet_share",
    "unmet_share_rest",
    "unmet_q_value",
    "distinctive",
)
SEGMENT_COLUMNS: tuple[str, ...] = ("respondent_id", "segment")
_FORMULA_START = FORMULA_PREFIXES


class ExportError(Exception):
    """Nothing to export; the message says why (shown to the user as is)."""


def neutralise(text: str) -> str:
    """Text a spreadsheet will show as text, never run as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(str(value))


def latest_run(survey_id: int | str) -> AnalysisRun:
    """The survey's latest successful run; ExportError for an unknown survey or none yet."""
    try:
        survey = Survey.objects.get(pk=int(survey_id))
    except (Survey.DoesNotExist, ValueError, TypeError):
        raise ExportError(f"No survey with id {survey_id!r}.") from None
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise ExportError(
            f"Survey {survey.pk} (“{survey.title}”) has no successful analysis yet: "
            f"run `python manage.py analyze {survey.pk}` first."
        )
    return run


def find_segment(run: AnalysisRun, value: str) -> SegmentResult:
    """A segment of the run by number (1 = largest) or by name, case-insensitive."""
    segments = list(run.segments.all())
    if not segments:
        raise ExportError(
            f"Analysis {run.pk} found no segments (everyone is one group): "
            "export without --segment."
        )
    text = str(value).strip()
    for segment in segments:
        if text.isdigit() and int(text) == segment.number:
            return segment
        if text.lower() in (segment.name.lower(), segment.custom_name.lower()):
            return segment
    choices = ", ".join(f"{s.number} ({s.display_name})" for s in segments)
    raise ExportError(f"No segment {text!r} in analysis {run.pk}; it has {choices}.")


def _result_values(run: AnalysisRun, segment: SegmentResult | None) -> list[tuple]:
    """The stored results of the whole sample or one segment, in RESULT_COLUMNS order."""
    rows = OutcomeResult.objects.filter(run=run, segment=segment).order_by("rank", "position")
    return list(rows.values_list(*RESULT_COLUMNS))


def result_rows(run: AnalysisRun, segment: SegmentResult | None = None) -> Iterator[list[str]]:
    """The results table of the whole sample or one segment, header first."""
    yield list(RESULT_COLUMNS)
    for row in _result_values(run, segment):
        yield [cell(v) for v in row]


def write_results_csv(out: TextIO, run: AnalysisRun, segment: SegmentResult | None = None) -> int:
    """Write the results CSV to `out`; returns the number of outcome rows."""
    rows = list(result_rows(run, segment))
    csv.writer(out, lineterminator="\n").writerows(rows)
    return len(rows) - 1


def segment_rows(run: AnalysisRun) -> Iterator[tuple[str, int]]:
    """(respondent id, segment number) for everyone the run analysed, in response order."""
    try:
        membership = run.membership
    except SegmentMembership.DoesNotExist:
        raise ExportError(f"Analysis {run.pk} has no stored membership.") from None
    segments = membership.segment_array().tolist()
    yield from zip(membership.respondent_ids, segments, strict=True)


def write_segments_csv(out: TextIO, run: AnalysisRun) -> int:
    """Write the segments CSV to `out`; returns the number of respondents."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SEGMENT_COLUMNS)
    count = 0
    for respondent_id, number in segment_rows(run):
        writer.writerow((respondent_id, number))
        count += 1
    return count


def results_csv(run: AnalysisRun, segment: SegmentResult | None = None) -> str:
    buffer = io.StringIO()
    write_results_csv(buffer, run, segment)
    return buffer.getvalue()


def segments_csv(run: AnalysisRun) -> str:
    buffer = io.StringIO()
    write_segments_csv(buffer, run)
    return buffer.getvalue()


# --- XLSX ---------------------------------------------------------------------------------------

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
        return value if np.isfinite(value) else repr(value)
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


def _about_sheet(ws, run: AnalysisRun, shown: str) -> None:
    from openpyxl.styles import Font

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
        ("This workbook", shown),
        (None, None),
        ("Parameters", None),
    ]
    for key, value in sorted((run.parameters or {}).items()):
        text = value if isinstance(value, int | float | str) else json.dumps(value)
        lines.append((key, text))
    lines += [(None, None), ("Formulas", None), *FORMULAS]
    bold = Font(bold=True)
    for i, (label, value) in enumerate(lines, start=1):
        if label is not None:
            _put(ws, i, 1, label).font = bold
        if value is not None:
            _put(ws, i, 2, value)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 90


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
        _results_sheet(workbook.create_sheet(title), _result_values(run, group))
    _about_sheet(workbook.create_sheet(ABOUT_SHEET), run, shown)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- SPSS .sav ----------------------------------------------------------------------------------

MAX_VARIABLE_NAME = 64
MAX_VARIABLE_LABEL_BYTES = 256
MAX_VALUE_LABEL_BYTES = 120
SOMETHING_ELSE = "Something else"
_SPSS_RESERVED = frozenset(
    ("all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with")
)


def spss_name(base: str, taken: set[str]) -> str:
    """A valid SPSS variable name made from `base`, unique among `taken` ignoring case (and
    added to it): ASCII letters, digits and _, starting with a letter, at most 64 characters."""
    ascii_text = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    name = re.sub(r"[^A-Za-z0-9_]", "_", ascii_text)
    if not name[:1].isalpha():
        name = "v" + (name if name.startswith("_") else "_" + name if name else "")
    if name.lower() in _SPSS_RESERVED:
        name += "_"
    name = name[:MAX_VARIABLE_NAME]
    candidate, i = name, 2
    while candidate.lower() in taken:
        suffix = f"_{i}"
        candidate = name[: MAX_VARIABLE_NAME - len(suffix)] + suffix
        i += 1
    taken.add(candidate.lower())
    return candidate


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-8 bytes on a character boundary, "…" marking a cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


@dataclass
class SavData:
    """Columns of a .sav file with their SPSS metadata, in variable order."""

    columns: dict[str, list | np.ndarray] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)
    measures: dict[str, str] = field(default_factory=dict)
    taken: set[str] = field(default_factory=set)

    def add(
        self,
        base: str,
        values: list | np.ndarray,
        *,
        label: str = "",
        value_labels: Mapping[int, str] | None = None,
        measure: str = "unknown",
    ) -> str:
        name = spss_name(base, self.taken)
        self.columns[name] = values
        if label:
            self.labels[name] = clip(label, MAX_VARIABLE_LABEL_BYTES)
        if value_labels:
            self.value_labels[name] = {
                k: clip(v, MAX_VALUE_LABEL_BYTES) for k, v in value_labels.items()
            }
        self.measures[name] = measure
        return name


@dataclass
class _Respondents:
    """What the run's respondents answered, aligned with the membership order."""

    ids: list[str]
    segments: np.ndarray
    importance: np.ndarray  # float (n, m), NaN = unanswered
    satisfaction: np.ndarray
    profile: list[Mapping[str, Any]]
    current_solution: list[str]
    nps: np.ndarray
    ces: np.ndarray


def _load_respondents(run: AnalysisRun, codes: Sequence[str]) -> _Respondents:
    try:
        membership = run.membership
    except SegmentMembership.DoesNotExist:
        raise ExportError(f"Analysis {run.pk} has no stored membership.") from None
    response_ids = membership.response_id_array()
    position = {int(r): i for i, r in enumerate(response_ids.tolist())}
    n = len(position)
    version_codes = {v.pk: v.outcome_codes for v in run.survey.versions.all()}
    groups: dict[int, tuple[list[int], list[bytes]]] = {}
    profile: list[Mapping[str, Any]] = [{} for _ in range(n)]
    solution = [""] * n
    nps = np.full(n, np.nan)
    ces = np.full(n, np.nan)
    rows = Response.objects.filter(survey_id=run.survey_id).values_list(
        "id", "version_id", "ratings", "profile", "current_solution", "nps", "ces"
    )
    # A response deleted since the run keeps its row, with its answers missing.
    for rid, version_id, blob, answers, current, nps_value, ces_value in rows.iterator(2000):
        i = position.get(rid)
        if i is None:
            continue
        blob = bytes(blob)
        if len(blob) == 2 * len(version_codes.get(version_id, ())):
            ids, blobs = groups.setdefault(version_id, ([], []))
            ids.append(rid)
            blobs.append(blob)
        profile[i] = answers if isinstance(answers, Mapping) else {}
        solution[i] = current or ""
        nps[i] = np.nan if nps_value is None else nps_value
        ces[i] = np.nan if ces_value is None else ces_value
    matrix = assemble(
        codes,
        ((version_codes[v], ids, [""] * len(ids), blobs) for v, (ids, blobs) in groups.items()),
    )
    importance = np.full((n, len(codes)), np.nan)
    satisfaction = np.full((n, len(codes)), np.nan)
    rows_at = [position[int(r)] for r in matrix.response_ids.tolist()]
    importance[rows_at] = np.where(matrix.importance == 0, np.nan, matrix.importance)
    satisfaction[rows_at] = np.where(matrix.satisfaction == 0, np.nan, matrix.satisfaction)
    return _Respondents(
        ids=[str(r) for r in membership.respondent_ids],
        segments=membership.segment_array().astype(np.float64),
        importance=importance,
        satisfaction=satisfaction,
        profile=profile,
        current_solution=solution,
        nps=nps,
        ces=ces,
    )


def _merged_questions(contents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Profile questions of every version by key, the newest wording first; options united."""
    merged: dict[str, dict[str, Any]] = {}
    for content in contents:
        for question in content.get("questions") or []:
            key = question["key"]
            if key not in merged:
                merged[key] = {**question, "options": [str(o) for o in question.get("options", [])]}
            else:
                known = merged[key]["options"]
                known += [str(o) for o in question.get("options", []) if str(o) not in known]
    return list(merged.values())


def _with_observed(options: Sequence[str], observed: Iterable[str]) -> list[str]:
    """`options`, then answers given that are no longer among them (sorted)."""
    extra = sorted({o for o in observed if o not in options})
    return [*options, *extra]


def _codes_of(values: Sequence[str | None], options: Sequence[str]) -> np.ndarray:
    code = {option: k for k, option in enumerate(options, start=1)}
    return np.array([np.nan if v is None else code[v] for v in values], dtype=np.float64)


def _add_question(data: SavData, question: Mapping[str, Any], answers: list[Any]) -> None:
    key, text, kind = question["key"], question.get("text") or question["key"], question["kind"]
    if kind == QuestionKind.SINGLE:
        values = [None if a is None or a == "" else str(a) for a in answers]
        options = _with_observed(question["options"], (v for v in values if v is not None))
        data.add(
            f"q_{key}",
            _codes_of(values, options),
            label=text,
            value_labels=dict(enumerate(options, start=1)),
            measure="nominal",
        )
    elif kind == QuestionKind.MULTIPLE:
        chosen = [
            None if a is None else {str(x) for x in (a if isinstance(a, list) else [a])}
            for a in answers
        ]
        options = _with_observed(question["options"], (x for c in chosen if c for x in c))
        for k, option in enumerate(options, start=1):
            data.add(
                f"q_{key}_{k}",
                np.array([np.nan if c is None else float(option in c) for c in chosen]),
                label=f"{text}: {option}",
                value_labels={0: "Not chosen", 1: "Chosen"},
                measure="nominal",
            )
    elif kind == QuestionKind.NUMBER:
        data.add(f"q_{key}", np.array([_number(a) for a in answers]), label=text, measure="scale")
    else:
        data.add(
            f"q_{key}",
            ["" if a is None else str(a) for a in answers],
            label=text,
            measure="nominal",
        )


def _number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        return np.nan
    try:
        number = float(value)
    except (TypeError, ValueError):
        return np.nan
    return number if np.isfinite(number) else np.nan


def respondent_data(run: AnalysisRun) -> SavData:
    """The run's respondents as SPSS variables (see the module docstring for the names)."""
    survey = run.survey
    versions = sorted(survey.versions.all(), key=lambda v: v.number, reverse=True)
    contents = [v.content for v in versions]
    latest = contents[0] if contents else {}
    outcomes = list(run.whole_sample().order_by("position").values_list("code", "statement"))
    codes = [code for code, _ in outcomes]
    people = _load_respondents(run, codes)
    importance_labels = list(latest.get("importance_labels") or DEFAULT_IMPORTANCE_LABELS)
    satisfaction_labels = list(latest.get("satisfaction_labels") or DEFAULT_SATISFACTION_LABELS)

    data = SavData()
    data.add("respondent_id", people.ids, label="Respondent id", measure="nominal")
    for j, (code, statement) in enumerate(outcomes):
        data.add(
            f"imp_{code}",
            people.importance[:, j],
            label=f"Importance: {statement}",
            value_labels=dict(enumerate(importance_labels, start=1)),
            measure="ordinal",
        )
        data.add(
            f"sat_{code}",
            people.satisfaction[:, j],
            label=f"Satisfaction: {statement}",
            value_labels=dict(enumerate(satisfaction_labels, start=1)),
            measure="ordinal",
        )
    for question in _merged_questions(contents):
        _add_question(data, question, [p.get(question["key"]) for p in people.profile])

    asked = [c["current_solution"] for c in contents if c.get("current_solution")]
    if asked or any(people.current_solution):
        options: list[str] = []
        for block in asked:
            options += [str(o) for o in block.get("options", []) if str(o) not in options]
        labels = {**dict(enumerate(options, start=1)), len(options) + 1: SOMETHING_ELSE}
        code = {option: k for k, option in enumerate(options, start=1)}
        data.add(
            "current_solution",
            np.array(
                [code.get(s, len(options) + 1) if s else np.nan for s in people.current_solution],
                dtype=np.float64,
            ),
            label=asked[0].get("text", "Current solution") if asked else "Current solution",
            value_labels=labels,
            measure="nominal",
        )
        data.add(
            "current_solution_other",
            [s if s and s not in code else "" for s in people.current_solution],
            label=f"{SOMETHING_ELSE}: what they use today",
            measure="nominal",
        )
    nps_text = next((c["nps"] for c in contents if c.get("nps")), None)
    if nps_text or not np.isnan(people.nps).all():
        data.add("nps", people.nps, label=nps_text or "Likelihood to recommend", measure="scale")
    ces_text = next((c["ces"] for c in contents if c.get("ces")), None)
    if ces_text or not np.isnan(people.ces).all():
        data.add("ces", people.ces, label=ces_text or "Customer effort", measure="ordinal")

    segments = {s.number: s.display_name for s in run.segments.order_by("number")}
    data.add(
        "segment",
        people.segments,
        label="Segment",
        value_labels=segments or {1: "Everyone"},
        measure="nominal",
    )
    return data


def respondents_sav(run: AnalysisRun) -> bytes:
    """The run's respondent-level data as an SPSS .sav file."""
    import pandas as pd
    import pyreadstat

    data = respondent_data(run)
    frame = pd.DataFrame({name: values for name, values in data.columns.items()})
    finished = run.finished_at.isoformat() if run.finished_at else ""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "respondents.sav"
        pyreadstat.write_sav(
            frame,
            str(path),
            file_label=clip(run.survey.title, 64),
            column_labels=data.labels,
            variable_value_labels=data.value_labels,
            variable_measure=data.measures,
            # SPSS documents are lines of at most 80 bytes.
            note=[
                f"Opportunity Engine: survey {run.survey_id}, analysis {run.pk}.",
                f"Finished {finished}.",
            ],
        )
        return path.read_bytes()
