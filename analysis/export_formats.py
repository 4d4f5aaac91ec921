"""The export formats of a run's results: the one registry of names, content types, file names
and builders, read by the API, the pages' background exports, the `export_results` command and
erasure.

- csv: the results table, one row per outcome (whole sample or one segment), `analysis.exports`;
- xlsx: the same table per group on sheets, plus "About", `analysis.export_xlsx`;
- sav: SPSS respondent-level data of everyone in the run, `analysis.export_sav`;
- respondents-csv and respondents-xlsx: the same respondents as the wide response CSV the
  import reads, and as a workbook, `analysis.export_respondents`.

The respondent-level formats hold respondent ids, so erasing personal data deletes stored files
of them, and they are never limited to one segment (they carry each respondent's segment).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from analysis import export_respondents, export_sav, export_xlsx, exports
from analysis.models import AnalysisRun, SegmentResult

Builder = Callable[[AnalysisRun, SegmentResult | None], bytes | str]


@dataclass(frozen=True)
class ExportFormat:
    name: str  # the `format` parameter's value
    label: str  # what the download buttons call it
    content_type: str
    holds: str  # "results" (per outcome) or "respondents" (per respondent, with their ids)
    per_segment: bool  # whether it can be limited to one segment
    build: Builder
    extension: str = ""  # the file's; the name when empty

    @property
    def holds_respondent_ids(self) -> bool:
        return self.holds == "respondents"

    def filename(self, run: AnalysisRun, segment_number: int | None = None) -> str:
        suffix = f"-segment-{segment_number}" if segment_number is not None else ""
        return (
            f"survey-{run.survey_id}-analysis-{run.pk}-{self.holds}{suffix}."
            f"{self.extension or self.name}"
        )


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            name="csv",
            label="CSV",
            content_type="text/csv; charset=utf-8",
            holds="results",
            per_segment=True,
            build=lambda run, segment: exports.results_csv(run, segment),
        ),
        ExportFormat(
            name="xlsx",
            label="Excel",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            holds="results",
            per_segment=True,
            build=lambda run, segment: export_xlsx.results_xlsx(run, segment),
        ),
        ExportFormat(
            name="sav",
            label="SPSS (respondents)",
            content_type="application/x-spss-sav",
            holds="respondents",
            per_segment=False,
            build=lambda run, segment: export_sav.respondents_sav(run),
        ),
        ExportFormat(
            name="respondents-csv",
            label="respondents CSV",
            content_type="text/csv; charset=utf-8",
            holds="respondents",
            per_segment=False,
            build=lambda run, segment: export_respondents.respondents_csv(run),
            extension="csv",
        ),
        ExportFormat(
            name="respondents-xlsx",
            label="respondents Excel",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            holds="respondents",
            per_segment=False,
            build=lambda run, segment: export_respondents.respondents_xlsx(run),
            extension="xlsx",
        ),
    )
}
NAMES: tuple[str, ...] = tuple(FORMATS)
# Stored files of these formats are deleted when personal data are erased (surveys.erasure).
WITH_RESPONDENT_IDS: tuple[str, ...] = tuple(
    n for n, f in FORMATS.items() if f.holds_respondent_ids
)


def listed() -> str:
    """The format names for messages: "csv, xlsx or sav"."""
    return f"{', '.join(NAMES[:-1])} or {NAMES[-1]}"
