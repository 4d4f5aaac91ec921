"""CSV exports of stored results, and what every export format shares: the results columns, how
a cell is written, the latest run to export.

The formats themselves (CSV, XLSX, SAV: content types, file names, builders) are registered in
`analysis.export_formats`, used by the commands, pages and the API.

Results CSV (design.md, Interchange): one row per outcome, best opportunity first. Numbers are
unrounded (Python's shortest round-trip form), empty where undefined; booleans are true/false.
Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
return) get a leading apostrophe.

Segments CSV: ``respondent_id,segment``, one row per respondent the run analysed, in response
order; ``segment`` is the segment number (1 = largest), 1 for everyone when none was found.
Respondent ids are written exactly as they came (they are keys to join back to the source file,
set by the researcher's import or invitations), so they are not neutralised.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TextIO

from analysis.models import AnalysisRun, OutcomeResult, SegmentMembership, SegmentResult
from jtbd.catalogue import FORMULA_PREFIXES
from surveys.models import (
    Survey,
)

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


def result_values(run: AnalysisRun, segment: SegmentResult | None) -> list[tuple]:
    """The stored results of the whole sample or one segment, in RESULT_COLUMNS order."""
    rows = OutcomeResult.objects.filter(run=run, segment=segment).order_by("rank", "position")
    return list(rows.values_list(*RESULT_COLUMNS))


def result_rows(run: AnalysisRun, segment: SegmentResult | None = None) -> Iterator[list[str]]:
    """The results table of the whole sample or one segment, header first."""
    yield list(RESULT_COLUMNS)
    for row in result_values(run, segment):
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
