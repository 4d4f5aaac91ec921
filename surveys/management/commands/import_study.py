"""python manage.py import_study FILE.csv --name NAME [pattern options]

Creates a job, its outcomes (from the codes in the header), a survey and the responses. The last
line printed is the new survey's id.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from surveys.importing import import_study
from surveys.management.commands._import_options import add_import_arguments, import_options
from surveys.wide_csv import ResponseImportError
from workspaces.models import Workspace


class Command(BaseCommand):
    help = "Create a job, its outcomes, a survey and its responses from a wide response CSV."

    def add_arguments(self, parser) -> None:
        add_import_arguments(parser)
        parser.add_argument("--name", required=True, help="Name of the new job and survey.")
        parser.add_argument(
            "--workspace", default="", help="Workspace slug (default: the only or the first one)."
        )

    @transaction.atomic  # a refused file leaves nothing behind, not even a new workspace
    def handle(self, *args, **options) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        workspace = self._workspace(options["workspace"])
        try:
            result = import_study(
                workspace=workspace,
                name=options["name"],
                data=path.read_bytes(),
                options=import_options(options),
            )
        except ResponseImportError as exc:
            raise CommandError(exc.report()) from None
        if result.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(result.ignored_columns)}")
        self.stdout.write(
            f"Imported {result.created} responses over {len(result.codes)} outcomes into survey "
            f"“{result.survey.title}” in {workspace.name}."
        )
        self.stdout.write(str(result.survey.pk))

    def _workspace(self, slug: str) -> Workspace:
        if slug:
            workspace = Workspace.objects.filter(slug=slug).first()
            if workspace is None:
                raise CommandError(f"No workspace with slug {slug!r}.")
            return workspace
        workspace = Workspace.objects.order_by("id").first()
        if workspace is None:
            workspace = Workspace.objects.create(name="Imported studies", slug="imported")
        return workspace
