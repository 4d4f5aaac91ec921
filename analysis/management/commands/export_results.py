"""python manage.py export_results SURVEY --format csv|xlsx|sav [--segment S] [-o FILE]

Writes the latest successful analysis of the survey: one row per outcome (whole sample, or the
segment S given by number or name), numbers unrounded. Without -o the CSV goes to stdout.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis import exports


class Command(BaseCommand):
    help = "Export a survey's latest opportunity scores, one row per outcome."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", help="Survey id.")
        parser.add_argument("--format", default="csv", help="csv (xlsx and sav come later).")
        parser.add_argument("--segment", default=None, help="Segment number or name.")
        parser.add_argument("-o", "--output", default=None, help="File to write (default stdout).")

    def handle(self, *args, **options) -> None:
        fmt = options["format"].lower()
        if fmt in ("xlsx", "sav"):
            raise CommandError(f"--format {fmt} is not available yet; use --format csv.")
        if fmt != "csv":
            raise CommandError(f"--format {fmt!r}: choose csv, xlsx or sav.")
        try:
            run = exports.latest_run(options["survey"])
            segment = (
                exports.find_segment(run, options["segment"])
                if options["segment"] is not None
                else None
            )
        except exports.ExportError as exc:
            raise CommandError(str(exc)) from None
        if options["output"]:
            path = Path(options["output"])
            with path.open("w", newline="", encoding="utf-8") as out:
                count = exports.write_results_csv(out, run, segment)
            sys.stderr.write(f"Wrote {count} outcomes of analysis {run.pk} to {path}.\n")
        else:
            self.stdout.write(exports.results_csv(run, segment), ending="")
