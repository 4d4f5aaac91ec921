"""Respondent-level exports of a run: every respondent in it, one row each, in the order of the
segments CSV (registered in `analysis.export_formats`; the SPSS file, `analysis.export_sav`,
reads the same rows).

Respondents CSV (`respondents-csv`) is the wide response CSV the import reads (see
docs/surveys.md), so a file exported here imports again elsewhere:

- ``respondent_id``, ``segment`` (its number) and ``segment_name``;
- one column per profile question (its key; a multiple-choice answer as its choices joined by
  "; "), then ``current_solution``, ``nps`` and ``ces`` where asked;
- ``imp_<code>`` and ``sat_<code>`` per outcome: 1–5; blank where the outcome was shown and not
  answered (or the respondent's version of the survey did not ask it); 98 for "not applicable /
  can't say"; 99 for "not shown by design" (a planned subset). The codes are
  `surveys.ratings.FILE_CODES`, the same in every file.

Respondents Excel (`respondents-xlsx`) holds the same table on a sheet "Respondents" (numbers as
numbers, text never a formula) and an "About" sheet with the survey, the run, the design and the
codes. Text answers are neutralised against spreadsheet formulas in both files; respondent ids
are written as given, like the segments CSV, so they join back.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.exports import ExportError, cell, neutralise
from analysis.models import AnalysisRun, SegmentMembership
from surveys.models import Response
from surveys.ratings import FILE_CODE_LABELS, FILE_CODES, assemble

SHEET = "Respondents"


@dataclass
class Respondents:
    """What the run's respondents answered, aligned with the membership order."""

    ids: list[str]
    segments: np.ndarray
    importance: np.ndarray  # float (n, m): 1–5, 98 and 99 (see FILE_CODES), NaN = unanswered
    satisfaction: np.ndarray
    profile: list[Mapping[str, Any]]
    current_solution: list[str]
    nps: np.ndarray
    ces: np.ndarray


def load_respondents(run: AnalysisRun, codes: Sequence[str]) -> Respondents:
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
        codes_kept=True,
    )
    importance = np.full((n, len(codes)), np.nan)
    satisfaction = np.full((n, len(codes)), np.nan)
    rows_at = [position[int(r)] for r in matrix.response_ids.tolist()]
    importance[rows_at] = _as_file_values(matrix.importance)
    satisfaction[rows_at] = _as_file_values(matrix.satisfaction)
    return Respondents(
        ids=[str(r) for r in membership.respondent_ids],
        segments=membership.segment_array().astype(np.float64),
        importance=importance,
        satisfaction=satisfaction,
        profile=profile,
        current_solution=solution,
        nps=nps,
        ces=ces,
    )


def _as_file_values(stored: np.ndarray) -> np.ndarray:
    """Stored ratings as the file writes them: 1–5, the missing codes 98 and 99, NaN for none."""
    values = np.where(stored == 0, np.nan, stored.astype(np.float64))
    for code, written in FILE_CODES.items():
        values[stored == code] = written
    return values


def merged_questions(contents: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
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


def respondent_table(run: AnalysisRun) -> tuple[list[str], Iterator[list[object]]]:
    """The header and the rows (Python values: None for blank) of the respondent exports."""
    versions = sorted(run.survey.versions.all(), key=lambda v: v.number, reverse=True)
    questions = merged_questions([v.content for v in versions])
    codes = list(run.whole_sample().order_by("position").values_list("code", flat=True))
    people = load_respondents(run, codes)
    names = {s.number: s.display_name for s in run.segments.order_by("number")}
    asked = {
        "current_solution": any(people.current_solution),
        "nps": not np.isnan(people.nps).all(),
        "ces": not np.isnan(people.ces).all(),
    }
    header = [
        "respondent_id",
        "segment",
        "segment_name",
        *(q["key"] for q in questions),
        *(name for name, present in asked.items() if present),
        *(f"{p}_{code}" for code in codes for p in ("imp", "sat")),
    ]

    def rows() -> Iterator[list[object]]:
        for i, rid in enumerate(people.ids):
            segment = int(people.segments[i]) if not math.isnan(people.segments[i]) else None
            row: list[object] = [rid, segment, names.get(segment, "Everyone") if segment else None]
            row += [_answer(people.profile[i].get(q["key"])) for q in questions]
            if asked["current_solution"]:
                row.append(people.current_solution[i] or None)
            for name in ("nps", "ces"):
                if asked[name]:
                    row.append(_number(getattr(people, name)[i]))
            pairs = np.empty(2 * len(codes))
            pairs[0::2], pairs[1::2] = people.importance[i], people.satisfaction[i]
            row += [_number(v) for v in pairs]
            yield row

    return header, rows()


def _answer(value: Any) -> object:
    if value is None:
        return None
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return value


def _number(value: float) -> int | float | None:
    if math.isnan(value):
        return None
    return int(value) if float(value).is_integer() else float(value)


def respondents_csv(run: AnalysisRun) -> str:
    header, rows = respondent_table(run)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        # The id as given (it joins back); every other text neutralised.
        writer.writerow([row[0], *(cell(v) for v in row[1:])])
    return out.getvalue()


def respondents_xlsx(run: AnalysisRun) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font

    from analysis.export_xlsx import about_lines

    header, rows = respondent_table(run)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(SHEET)
    bold = Font(bold=True)

    def text_cell(value: str, font=None) -> WriteOnlyCell:
        c = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
        c.data_type = "s"  # text, never a formula, whatever it starts with
        if font is not None:
            c.font = font
        return c

    sheet.freeze_panes = "B2"
    sheet.append([text_cell(h, bold) for h in header])
    for row in rows:
        sheet.append(
            [
                text_cell(str(v) if i == 0 else neutralise(v)) if isinstance(v, str) else v
                for i, v in enumerate(row)
            ]
        )
    about = workbook.create_sheet("About")
    legend = [
        (None, None),
        ("Rating codes", None),
        ("1–5", "the rating given"),
        ("blank", "shown, not answered (or not asked by the respondent's version of the survey)"),
        *((str(code), label) for code, label in FILE_CODE_LABELS.items()),
    ]
    for label, value in [*about_lines(run, "every respondent of the run"), *legend]:
        about.append(
            [
                text_cell(str(label), bold) if label is not None else None,
                text_cell(str(value)) if isinstance(value, str) else value,
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
