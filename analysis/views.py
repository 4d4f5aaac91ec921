"""The survey's analysis page: the latest results, a running run's progress, a new run."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

from analysis import runs
from analysis.forms import StartAnalysisForm
from analysis.models import AnalysisRun, OutcomeResult, RunStatus
from surveys.access import survey_for
from surveys.models import Survey


def _active(survey: Survey) -> AnalysisRun | None:
    return (
        AnalysisRun.objects.filter(survey=survey, status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
        .order_by("-created_at")
        .first()
    )


def _status(run: AnalysisRun | None) -> dict:
    if run is None:
        return {"active": False}
    return {
        "active": True,
        "id": run.pk,
        "status": run.status,
        "progress": run.progress,
        "stage": run.stage,
    }


@login_required
def analysis_page(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    can_write = survey.workspace.can_write(request.user)
    form = StartAnalysisForm(request.POST or None, initial={"seed": 2026})
    if request.method == "POST":
        if not can_write:
            raise PermissionDenied("Viewers can read results but cannot start an analysis.")
        if form.is_valid():
            try:
                run = runs.request_analysis(
                    survey=survey, parameters=form.parameters(), by=request.user
                )
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                # Not its status: the run starts when this request's transaction commits,
                # after the message is written; the page shows where it has got to.
                messages.success(request, f"Analysis #{run.pk} started.")
                return redirect("analysis:analysis", pk=survey.pk)
    latest = AnalysisRun.objects.latest_succeeded(survey)
    top = []
    if latest is not None:
        top = list(OutcomeResult.objects.filter(run=latest, segment=None).order_by("rank")[:15])
    context = {
        "survey": survey,
        "latest": latest,
        "top": top,
        "segments": list(latest.segments.order_by("number")) if latest else [],
        "active": _active(survey),
        "failed": AnalysisRun.objects.filter(survey=survey).order_by("-created_at").first(),
        "form": form,
        "can_write": can_write,
    }
    return render(request, "analysis/analysis.html", context)


@login_required
def analysis_status(request: HttpRequest, pk: int) -> JsonResponse:
    survey = survey_for(request, pk)
    return JsonResponse(_status(_active(survey)))
