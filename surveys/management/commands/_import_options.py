from __future__ import annotations

from django.core.management.base import CommandParser

from surveys.wide_csv import ImportOptions


def add_import_arguments(parser: CommandParser) -> None:
    parser.add_argument("file", help="Wide CSV file: one row per respondent.")
    parser.add_argument("--importance-pattern", default="imp_{code}")
    parser.add_argument("--satisfaction-pattern", default="sat_{code}")
    parser.add_argument("--id-column", default="respondent_id")
    parser.add_argument(
        "--profile-columns", default="", help="Comma-separated columns kept as profile answers."
    )


def import_options(options: dict) -> ImportOptions:
    profile = tuple(c.strip() for c in options["profile_columns"].split(",") if c.strip())
    return ImportOptions(
        id_column=options["id_column"],
        importance_pattern=options["importance_pattern"],
        satisfaction_pattern=options["satisfaction_pattern"],
        profile_columns=profile,
    )
