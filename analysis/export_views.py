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
from analysis.models import AnalysisRun, ExportJob, ExportStatus
from config.params import valid_id
from surveys.models import Survey


def _survey_for(request: HttpRequest, pk: int) -> Survey:
    return get_object_or_404(Survey.objects.for_user(request.user), pk=pk)


def _job_for(request: HttpRequest, pk: int, job_id: int) -> ExportJob:
    survey = _survey_for(request, pk)
    return get_object_or_404(
        ExportJob.objects.select_related("survey").defer("content"), pk=job_id, survey=survey
    )


@login_required
@require_POST
def start_export(request: HttpRequest, pk: int) -> HttpResponse:
    survey = _survey_for(request, pk)
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        raise Http404("No analysis has finished for this survey yet.")
    fmt = request.POST.get("format", "")
    raw_segment = request.POST.get("segment") or None
    segment = valid_id(raw_segment) if raw_segment is not None else None
    if fmt not in export_jobs.FORMATS or (raw_segment is not None and segment is None):
        messages.error(request, "Choose an export format: csv, xlsx or sav.")
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
    survey = _survey_for(request, pk)
    job = get_object_or_404(ExportJob, pk=job_id, survey=survey, status=ExportStatus.SUCCEEDED)
    response = HttpResponse(bytes(job.content), content_type=export_jobs.CONTENT_TYPES[job.format])
    response["Content-Disposition"] = f'attachment; filename="{job.filename}"'
    return response
