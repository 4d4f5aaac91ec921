"""python manage.py analyze SURVEY [--segments auto|off|K] [--seed N]

Runs an analysis synchronously, through the same code the Celery task runs, and prints a short
summary: respondents, the top 10 outcomes with their opportunity and its 95% interval, and what
segmentation found.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from analysis import runs
from analysis.models import RunStatus
from analysis.parameters import parse_segments
from surveys.models import Survey


def _segments(value: str) -> str | int:
    try:
        return parse_segments(value)
    except ValidationError as exc:
        raise CommandError(f"--segments: {exc.message_dict['segments'][0]}") from None


def _num(value: float | None, places: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{places}f}"


class Command(BaseCommand):
    help = "Analyse a survey now: opportunity scores with intervals, and segments."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survey", help="Survey id.")
        parser.add_argument(
            "--segments",
            default="auto",
            help="auto (choose k, or none), off, or a number of segments K (default auto).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Random seed (reproducible).")

    def handle(self, *args, **options) -> None:
        try:
            survey = Survey.objects.get(pk=int(options["survey"]))
        except (Survey.DoesNotExist, ValueError):
            raise CommandError(f"No survey with id {options['survey']!r}.") from None
        parameters: dict = {"segments": _segments(options["segments"])}
        if options["seed"] is not None:
            parameters["seed"] = options["seed"]
        try:
            run = runs.analyze_now(survey=survey, parameters=parameters)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {v[0]}" for k, v in exc.message_dict.items())
            raise CommandError(problems) from None
        if run.status != RunStatus.SUCCEEDED:
            raise CommandError(f"Analysis {run.pk} failed: {run.error.splitlines()[0]}")
        self._summary(survey, run)

    def _summary(self, survey: Survey, run) -> None:
        out = self.stdout.write
        seconds = run.timings.get("total")
        out(
            f"Analysis {run.pk} of survey {survey.pk} “{survey.title}”: "
            f"n = {run.n_respondents} respondents, {run.n_outcomes} outcomes"
            + (f", {seconds:.1f} s." if seconds is not None else ".")
        )
        out("")
        out("Top opportunities (O = I + max(I − S, 0); 95% bootstrap interval):")
        out(
            f"{'#':>3}  {'code':<10} {'O':>6}  {'interval':<13} {'I':>5} {'S':>5}  "
            f"{'band':<8} outcome"
        )
        for row in run.whole_sample()[:10]:
            interval = f"{_num(row.opportunity_lower)}–{_num(row.opportunity_upper)}"
            statement = row.statement if len(row.statement) <= 70 else row.statement[:69] + "…"
            out(
                f"{row.rank:>3}  {row.code:<10} {_num(row.opportunity):>6}  {interval:<13} "
                f"{_num(row.importance, 1):>5} {_num(row.satisfaction, 1):>5}  "
                f"{row.band:<8} {statement}"
            )
        out("")
        seg = run.segmentation
        if seg.get("found"):
            out(f"Segments: found, k = {seg['k']}. {seg['reason']}")
            for segment in run.segments.all():
                out(
                    f"  {segment.number}. {segment.display_name} — {segment.size} respondents "
                    f"({segment.share:.0%})"
                )
        else:
            out(f"Segments: none found, k = 1. {seg.get('reason', '')}")
        for warning in run.warnings:
            out(f"Warning: {warning}")
