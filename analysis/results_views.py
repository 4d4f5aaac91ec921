"""Results pages for strategists: the ranked outcomes and the job map coloured by opportunity.

Pages read the stored results of the latest successful run; they never compute statistics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from analysis.models import (
    AnalysisRun,
    OutcomeResult,
    RunStatus,
    SegmentNotFound,
    SegmentResult,
)
from surveys.access import survey_for
from surveys.models import Flag, Response, ResponseStatus, Survey


@dataclass(frozen=True)
class Scoring:
    key: str
    label: str
    field: str
    descending: bool
    formula: str


SCORINGS = {
    s.key: s
    for s in (
        Scoring(
            "opportunity",
            "Opportunity",
            "opportunity",
            True,
            "importance + max(importance − satisfaction, 0), from top-two-box shares (0–20)",
        ),
        Scoring(
            "mean_gap",
            "Mean gap",
            "mean_gap",
            True,
            "mean importance − mean satisfaction on the 1–5 scale",
        ),
        Scoring(
            "add_value",
            "Opportunity to add value",
            "opportunity_to_add_value",
            True,
            "importance share × (1 − satisfaction share), 0–1",
        ),
        Scoring(
            "importance", "Importance", "importance", True, "10 × share rating importance 4 or 5"
        ),
        Scoring(
            "satisfaction",
            "Satisfaction (lowest first)",
            "satisfaction",
            False,
            "10 × share rating satisfaction 4 or 5",
        ),
        Scoring(
            "mean_importance",
            "Mean importance",
            "mean_importance",
            True,
            "mean importance on the 1–5 scale",
        ),
        Scoring(
            "mean_satisfaction",
            "Mean satisfaction (lowest first)",
            "mean_satisfaction",
            False,
            "mean satisfaction on the 1–5 scale",
        ),
    )
}
BANDS = ["extreme", "high", "solid", "low"]


def _in_tens(score: float | None) -> int | None:
    """A 0–10 top-two-box score as "N in 10 people" (rounded to whole people)."""
    return None if score is None else round(score)


def _plural(executor: str) -> str:
    word = executor.strip().lower() or "respondent"
    return word if word.endswith("s") else f"{word}s"


def sample_summary(survey: Survey) -> dict:
    """Completes, how many quality flags exclude and why, fieldwork dates.

    One aggregate over the survey's completes (a 100,000-respondent survey is one scan, not
    four); the reasons are only counted when something is excluded."""
    completed = Response.objects.filter(survey=survey, status=ResponseStatus.COMPLETED)
    analysable = Q(include_override=True) | (Q(include_override__isnull=True) & Q(flags=[]))
    totals = completed.aggregate(
        completed=Count("id"),
        analysable=Count("id", filter=analysable),
        first=Min("started_at"),
        last=Max("completed_at"),
    )
    excluded = totals["completed"] - totals["analysable"]
    reasons: Counter[str] = Counter()
    if excluded:
        for flags, include in completed.exclude(flags=[]).values_list("flags", "include_override"):
            if include is not True:
                reasons.update(flags)
    labels: dict[str, str] = {
        Flag.SPEEDER: "speeders",
        Flag.STRAIGHT_LINER: "straight-liners",
        Flag.ATTENTION: "failed the attention check",
    }
    return {
        "completed": totals["completed"],
        "excluded": excluded,
        "reasons": [(labels.get(k, k), n) for k, n in reasons.most_common()],
        "first": totals["first"],
        "last": totals["last"],
    }


def _chosen_segment(run: AnalysisRun, raw: str | None) -> SegmentResult | None:
    """The segment a filter link asks for; the whole sample when it names none of the run's (the
    page shows which group it shows)."""
    if not raw:
        return None
    try:
        return run.find_segment(raw)
    except SegmentNotFound:
        return None


def _latest(survey: Survey) -> AnalysisRun:
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise Http404("No analysis has finished for this survey yet.")
    return run


@login_required
def results_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = AnalysisRun.objects.latest_succeeded(survey)
    active = (
        AnalysisRun.objects.filter(survey=survey, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("-created_at")
        .first()
    )
    context: dict = {
        "survey": survey,
        "run": run,
        "active": active,
        "can_write": survey.workspace.can_write(request.user),
        "sample": sample_summary(survey),
    }
    if run is None:
        return render(request, "analysis/results.html", context)

    segments = list(run.segments.order_by("number"))
    segment = _chosen_segment(run, request.GET.get("segment"))
    scoring = SCORINGS.get(request.GET.get("scoring", ""), SCORINGS["opportunity"])
    rows = OutcomeResult.objects.filter(run=run, segment=segment)
    steps = list(dict.fromkeys(rows.order_by("position").values_list("step", flat=True)))
    step = request.GET.get("step", "")
    band = request.GET.get("band", "")
    if step in steps:
        rows = rows.filter(step=step)
    if band in BANDS:
        rows = rows.filter(band=band)
    order = f"-{scoring.field}" if scoring.descending else scoring.field
    if request.GET.get("order") == "reverse":
        order = order[1:] if order.startswith("-") else f"-{order}"
    shown = list(rows.order_by(order, "rank", "position"))
    people = _plural(survey.job.executor)
    # Figures for the template, set on the rows (not model fields).
    for r in shown:
        r.matters = _in_tens(r.importance)  # type: ignore[attr-defined]
        r.satisfied = _in_tens(r.satisfaction)  # type: ignore[attr-defined]
        r.score = getattr(r, scoring.field)  # type: ignore[attr-defined]
    context.update(
        {
            "segments": segments,
            "segment": segment,
            "scoring": scoring,
            "scorings": SCORINGS.values(),
            "rows": shown,
            "steps": steps,
            "bands": BANDS,
            "step": step if step in steps else "",
            "band": band if band in BANDS else "",
            "people": people,
            "warnings": run.warnings,
            "group_size": segment.size if segment else run.n_respondents,
        }
    )
    return render(request, "analysis/results.html", context)


@login_required
def jobmap_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = _latest(survey)
    rows = list(OutcomeResult.objects.filter(run=run, segment=None).order_by("position"))
    columns: dict[str, dict] = {}
    for r in rows:
        column = columns.setdefault(
            r.step or "Other", {"title": r.step or "Other", "stage": r.stage, "outcomes": []}
        )
        column["outcomes"].append(r)
    for column in columns.values():
        scores = [r.opportunity for r in column["outcomes"] if r.opportunity is not None]
        column["mean"] = sum(scores) / len(scores) if scores else None
        column["hot"] = sum(r.band in ("extreme", "high") for r in column["outcomes"])
        column["outcomes"].sort(key=lambda r: -(r.opportunity or 0))
    return render(
        request,
        "analysis/jobmap.html",
        {"survey": survey, "run": run, "columns": list(columns.values())},
    )


@login_required
def segments_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = _latest(survey)
    can_write = survey.workspace.can_write(request.user)
    segments = list(run.segments.order_by("number"))
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied("Viewers can read segments but cannot rename them.")
        try:
            segment = run.find_segment(request.POST.get("segment", ""))
        except SegmentNotFound:
            raise Http404("No such segment in the latest analysis.") from None
        segment.rename(request.POST.get("name", ""))
        messages.success(request, f"Segment {segment.number} renamed.")
        return redirect("analysis:segments", pk=survey.pk)
    found = bool((run.segmentation or {}).get("found"))
    whole = {
        r.code: r
        for r in OutcomeResult.objects.filter(run=run, segment=None).only(
            "code", "statement", "opportunity"
        )
    }
    for segment in segments:  # what the template shows of each, set on it (not model fields)
        own = OutcomeResult.objects.filter(run=run, segment=segment)
        top = list(own.order_by("rank")[:5])
        for r in top:
            r.whole = whole.get(r.code)  # type: ignore[attr-defined]
        segment.top = top  # type: ignore[attr-defined]
        segment.apart = [d for d in segment.distinct_outcomes][:5]  # type: ignore[attr-defined]
        segment.answers = [  # type: ignore[attr-defined]
            {**q, "answers": sorted(q["answers"], key=lambda a: a["share_rest"] - a["share"])[:2]}
            for q in sorted(segment.profile_differences, key=lambda q: -(q.get("cramers_v") or 0))[
                :3
            ]
        ]
    return render(
        request,
        "analysis/segments.html",
        {
            "survey": survey,
            "run": run,
            "segments": segments,
            "found": found,
            "reason": (run.segmentation or {}).get("reason", ""),
            "can_write": can_write,
        },
    )


@login_required
def loyalty_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = _latest(survey)
    drivers = run.drivers or {}
    whole = {r.code: r for r in OutcomeResult.objects.filter(run=run, segment=None)}
    measures = []
    for key, label in (("nps", "Likelihood to recommend (NPS)"), ("ces", "Customer effort (CES)")):
        result = drivers.get(key)
        if not result:
            continue
        for row in result.get("outcomes", []):
            row["result"] = whole.get(row["code"])
        measures.append(
            {"key": key, "label": label, **result, "overall": (run.loyalty or {}).get(key, {})}
        )
    segments = list(run.segments.order_by("number"))
    return render(
        request,
        "analysis/loyalty.html",
        {"survey": survey, "run": run, "measures": measures, "segments": segments},
    )


@login_required
def landscape_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = _latest(survey)
    segments = list(run.segments.order_by("number"))
    segment = _chosen_segment(run, request.GET.get("segment"))
    return render(
        request,
        "analysis/landscape.html",
        {"survey": survey, "run": run, "segments": segments, "segment": segment},
    )
