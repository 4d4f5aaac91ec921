"""python manage.py import_responses SURVEY FILE.csv [pattern options]

Adds the file's responses to a published survey.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from surveys.importing import import_responses
from surveys.management.commands._import_options import add_import_arguments, import_options
from surveys.models import Survey
from surveys.wide_csv import ResponseImportError


class Command(BaseCommand):
    help = "Add the responses of a wide response CSV to an existing survey."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", type=int, help="The survey's id.")
        add_import_arguments(parser)

    def handle(self, *args, **options) -> None:
        survey = Survey.objects.filter(pk=options["survey"]).first()
        if survey is None:
            raise CommandError(f"No survey with id {options['survey']}.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            result = import_responses(
                survey=survey, data=path.read_bytes(), options=import_options(options)
            )
        except ResponseImportError as exc:
            raise CommandError(exc.report()) from None
        if result.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(result.ignored_columns)}")
        self.stdout.write(f"Imported {result.created} responses into survey {survey.pk}.")
