"""python manage.py export_segments SURVEY [-o FILE]

CSV ``respondent_id,segment``: one row per respondent in the survey's latest successful analysis,
with the id the response came with; everyone is in segment 1 when no segments were found.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis import exports


class Command(BaseCommand):
    help = "Export who is in which segment in a survey's latest analysis."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", help="Survey id.")
        parser.add_argument("-o", "--output", default=None, help="File to write (default stdout).")

    def handle(self, *args, **options) -> None:
        try:
            run = exports.latest_run(options["survey"])
            if options["output"]:
                path = Path(options["output"])
                with path.open("w", newline="", encoding="utf-8") as out:
                    count = exports.write_segments_csv(out, run)
                sys.stderr.write(f"Wrote {count} respondents of analysis {run.pk} to {path}.\n")
            else:
                self.stdout.write(exports.segments_csv(run), ending="")
        except exports.ExportError as exc:
            raise CommandError(str(exc)) from None
