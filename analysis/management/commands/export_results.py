"""python manage.py export_results SURVEY --format csv|xlsx|sav|respondents-csv|respondents-xlsx
[--segment S] [-o FILE]

Writes the latest successful analysis of the survey (formats: see analysis/export_formats.py):

- csv: one row per outcome (whole sample, or the segment S given by number or name), numbers
  unrounded;
- xlsx: the same table on a sheet for the whole sample and one per segment (only S's with
  --segment), plus an "About" sheet;
- sav: respondent-level SPSS data of the run's respondents (no --segment: it carries a
  `segment` variable instead);
- respondents-csv, respondents-xlsx: the same respondents as the wide response CSV the import
  reads, and as a workbook (no --segment either).

Without -o the file goes to stdout; the binary formats only when stdout is not a terminal
(`... --format xlsx > results.xlsx`).
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis import exports
from analysis.export_formats import FORMATS, listed
from analysis.models import SegmentNotFound


class Command(BaseCommand):
    help = "Export a survey's latest opportunity scores (csv, xlsx) or respondent data (sav)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", help="Survey id.")
        parser.add_argument("--format", default="csv", help=f"{listed()} (default csv).")
        parser.add_argument(
            "--segment", default=None, help="Segment number or name (csv and xlsx only)."
        )
        parser.add_argument("-o", "--output", default=None, help="File to write (default stdout).")

    def handle(self, *args, **options) -> None:
        fmt = options["format"].lower()
        export = FORMATS.get(fmt)
        if export is None:
            raise CommandError(f"--format {fmt!r}: choose {listed()}.")
        if not export.per_segment and options["segment"] is not None:
            raise CommandError(
                f"--segment does not apply to --format {fmt}: the file is respondent-level and "
                "holds every respondent with their segment; filter on it."
            )
        output = options["output"]
        text = export.content_type.startswith("text/")
        binary_stdout = None if text or output else self._binary_stdout(fmt)
        try:
            run = exports.latest_run(options["survey"])
            segment = (
                run.find_segment(options["segment"]) if options["segment"] is not None else None
            )
            if fmt == "csv":
                self._write_csv(run, segment, output)
                return
            data = export.build(run, segment)
        except (exports.ExportError, SegmentNotFound) as exc:
            raise CommandError(str(exc)) from None
        if isinstance(data, str):  # a text format: stdout takes it as it is
            if output:
                Path(output).write_text(data, encoding="utf-8", newline="")
                sys.stderr.write(f"Wrote the {fmt} export of analysis {run.pk} to {output}.\n")
            else:
                self.stdout.write(data, ending="")
            return
        if binary_stdout is not None:
            binary_stdout.write(data)
            binary_stdout.flush()
        else:
            path = Path(output)
            path.write_bytes(data)
            sys.stderr.write(f"Wrote the {fmt} export of analysis {run.pk} to {path}.\n")

    def _write_csv(self, run, segment, output: str | None) -> None:
        if output:
            path = Path(output)
            with path.open("w", newline="", encoding="utf-8") as out:
                count = exports.write_results_csv(out, run, segment)
            sys.stderr.write(f"Wrote {count} outcomes of analysis {run.pk} to {path}.\n")
        else:
            self.stdout.write(exports.results_csv(run, segment), ending="")

    def _binary_stdout(self, fmt: str):
        """The byte stream under stdout, when it goes somewhere a binary file can (not a
        terminal, not a text-only stream a caller passed in)."""
        stream = getattr(self.stdout, "_out", self.stdout)  # under Django's OutputWrapper
        buffer = getattr(stream, "buffer", None)
        if buffer is None or stream.isatty():
            raise CommandError(
                f"--format {fmt} writes a binary file: give -o FILE (or redirect stdout to a file)."
            )
        stream.flush()
        return buffer
