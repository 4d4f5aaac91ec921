"""Pages of background exports: start one (POST), follow its progress, download the file.

Scoped like the results pages: a survey outside the user's workspaces, or a job of another
survey, is a 404. Viewers may export (it is a read); the POST is CSRF-protected as every form.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from analysis import export_jobs
from analysis.export_formats import FORMATS, listed
from analysis.models import AnalysisRun, ExportJob, ExportStatus
from surveys.access import survey_for


def _job_for(request: HttpRequest, pk: int, job_id: int) -> ExportJob:
    survey = survey_for(request, pk)
    return get_object_or_404(
        ExportJob.objects.select_related("survey").defer("content"), pk=job_id, survey=survey
    )


@login_required
@require_POST
def start_export(request: HttpRequest, pk: int) -> HttpResponse:
    survey = survey_for(request, pk)
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise Http404("No analysis has finished for this survey yet.")
    fmt = request.POST.get("format", "")
    segment = request.POST.get("segment") or None
    if fmt not in FORMATS:
        messages.error(request, f"Choose an export format: {listed()}.")
        return redirect("analysis:results", pk=survey.pk)
    try:
        job = export_jobs.request_export(run=run, fmt=fmt, segment=segment, by=request.user)
    except ValueError as exc:
        messages.error(request, str(exc))
        return redirect("analysis:results", pk=survey.pk)
    return redirect("analysis:export-job", pk=survey.pk, job_id=job.pk)


@login_required
@require_GET
def export_job_page(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    job = _job_for(request, pk, job_id)
    return render(request, "analysis/export_job.html", {"survey": job.survey, "job": job})


@login_required
@require_GET
def export_job_status(request: HttpRequest, pk: int, job_id: int) -> JsonResponse:
    return JsonResponse(export_jobs.status_of(_job_for(request, pk, job_id)))


@login_required
@require_GET
def export_job_download(request: HttpRequest, pk: int, job_id: int) -> HttpResponse:
    survey = survey_for(request, pk)
    job = get_object_or_404(ExportJob, pk=job_id, survey=survey, status=ExportStatus.SUCCEEDED)
    assert job.content is not None  # a succeeded job holds its file
    response = HttpResponse(bytes(job.content), content_type=FORMATS[job.format].content_type)
    response["Content-Disposition"] = f'attachment; filename="{job.filename}"'
    return response
