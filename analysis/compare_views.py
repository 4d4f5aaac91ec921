"""Comparisons page: two groups of the latest run side by side, and two waves of the same job.

The page parses the choices and shows the figures; `analysis.comparisons` computes them (the
same code as the API's comparisons).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from analysis.comparisons import (
    REST,
    ComparisonError,
    compare_in_run,
    compare_waves,
    small_group_threshold,
)
from analysis.models import AnalysisRun
from config.params import valid_id
from surveys.access import survey_for
from surveys.models import QuestionKind, Survey
from surveys.models import Response as SurveyResponse

MAX_CHOICE = 300


def _choices(survey: Survey, run: AnalysisRun) -> list[dict]:
    """The groups one may pick, as option groups: [{"label", "options": [(value, text)]}]."""
    groups = []
    segments = [
        (f"segment:{s.number}", f"Segment {s.number}: {s.display_name} ({s.size})")
        for s in run.segments.order_by("number")
    ]
    if segments:
        groups.append({"label": "Segments", "options": segments})
    for q in survey.questions.filter(kind=QuestionKind.SINGLE).order_by("order", "id"):
        options = [(f"profile:{q.key}:{o}", f"{q.key} = {o}") for o in q.options]
        if options:
            groups.append({"label": f"Profile: {q.text}", "options": options})
    solutions = sorted(
        set(
            SurveyResponse.objects.filter(survey=survey)
            .completed()
            .exclude(current_solution="")
            .values_list("current_solution", flat=True)
        )
    )
    if solutions:
        groups.append(
            {
                "label": "Current solution",
                "options": [(f"solution:{s}", f"Current solution: {s}") for s in solutions],
            }
        )
    return groups


def _spec(raw: str, allowed: set[str], *, rest_ok: bool) -> dict:
    """A group spec for compare_in_run from a form value; ValueError naming the problem."""
    if rest_ok and raw == REST:
        return {REST: True}
    if raw not in allowed:
        raise ValueError(f"Unknown group {raw[:80]!r}; pick one from the list.")
    kind, _, rest = raw.partition(":")
    if kind == "segment":
        number = valid_id(rest)
        if number is None:
            raise ValueError(f"Not a segment number: {rest[:40]!r}.")
        return {"segment": number}
    if kind == "profile":
        key, _, value = rest.partition(":")
        return {"profile": {key: value}}
    return {"current_solution": rest}


def _groups_section(request: HttpRequest, survey: Survey, run: AnalysisRun) -> dict:
    choices = _choices(survey, run)
    allowed = {value for group in choices for value, _ in group["options"]}
    raw_a = request.GET.get("a", "")[:MAX_CHOICE]
    raw_b = request.GET.get("b", "")[:MAX_CHOICE]
    section: dict = {"choices": choices, "a": raw_a, "b": raw_b, "errors": [], "result": None}
    if not raw_a and not raw_b:
        return section
    specs = {}
    for name, raw, rest_ok in (("A", raw_a, False), ("B", raw_b, True)):
        if not raw:
            section["errors"].append(f"Choose group {name}.")
            continue
        try:
            specs[name] = _spec(raw, allowed, rest_ok=rest_ok)
        except ValueError as exc:
            section["errors"].append(f"Group {name}: {exc}")
    if section["errors"]:
        return section
    if raw_a == raw_b:
        section["errors"].append("Groups A and B are the same; choose two different groups.")
        return section
    try:
        result = compare_in_run(run, specs["A"], specs["B"])
    except ComparisonError as exc:
        section["errors"] = [exc.message]
        return section
    result["outcomes"].sort(
        key=lambda o: -abs(o["difference"]) if o["difference"] is not None else 1.0
    )
    section["result"] = result
    return section


def _waves_section(request: HttpRequest, survey: Survey, run: AnalysisRun) -> dict:
    candidates = []
    for other in (
        Survey.objects.for_user(request.user)
        .filter(workspace=survey.workspace, job=survey.job)
        .exclude(pk=survey.pk)
        .order_by("-created_at", "-pk")
    ):
        other_run = AnalysisRun.objects.latest_succeeded(other)
        if other_run is not None:
            candidates.append((other, other_run))
    raw = request.GET.get("other")
    section: dict = {"candidates": [o for o, _ in candidates], "other": None, "errors": []}
    if raw is None or raw == "":
        return section
    number = valid_id(raw)
    chosen = next(((o, r) for o, r in candidates if o.pk == number), None)
    if chosen is None:
        section["errors"].append(
            "Choose another survey of the same job that has a finished analysis."
        )
        return section
    other, other_run = chosen
    section.update({"other": other, "other_run": other_run, **compare_waves(run, other_run)})
    return section


@login_required
def compare_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = AnalysisRun.objects.latest_succeeded(survey)
    context: dict = {"survey": survey, "run": run}
    status = 200
    if run is not None:
        threshold = small_group_threshold(run)
        groups = _groups_section(request, survey, run)
        waves = _waves_section(request, survey, run)
        context.update({"groups": groups, "waves": waves, "threshold": threshold})
        if groups["errors"] or waves["errors"]:
            status = 400
    return render(request, "analysis/compare.html", context, status=status)
