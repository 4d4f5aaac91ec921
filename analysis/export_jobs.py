"""Exports of large surveys as background jobs: request, build (in a Celery task), download.

A run with fewer than `EXPORT_INLINE_LIMIT` respondents (settings, default 20,000) is exported
in the request as before (the API's /api/surveys/<id>/exports/); above it the results page posts
here, `request_export` creates an `ExportJob` and hands its task to the broker after the
transaction commits (run in-process when there is no broker: CELERY_TASK_ALWAYS_EAGER). The task
builds the file with the builders of `analysis.export_formats` (as the API does), reporting
progress, and stores it in the job row; the job page polls a small JSON status and then offers
the download.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analysis.export_formats import FORMATS, listed
from analysis.models import AnalysisRun, ExportJob, ExportStatus

log = logging.getLogger(__name__)

DEFAULT_INLINE_LIMIT = 20_000


def inline_limit() -> int:
    return int(getattr(settings, "EXPORT_INLINE_LIMIT", DEFAULT_INLINE_LIMIT))


def runs_in_background(run: AnalysisRun) -> bool:
    """Whether exports of `run` are built by a background job instead of in the request."""
    return (run.n_respondents or 0) >= inline_limit()


def request_export(*, run: AnalysisRun, fmt: str, segment: object = None, by=None) -> ExportJob:
    """Create a queued export job of `run` and enqueue its task after the transaction commits.

    `segment` names a segment of the run (`AnalysisRun.find_segment`; None: whole sample); a
    format that is not per segment (.sav) holds everyone. ValueError (SegmentNotFound included)
    naming the problem."""
    export = FORMATS.get(fmt)
    if export is None:
        raise ValueError(f"Unknown format {fmt!r:.40}; give one of {listed()}.")
    number = None
    if segment is not None and export.per_segment:
        number = run.find_segment(segment).number
    job = ExportJob.objects.create(
        survey_id=run.survey_id,
        run=run,
        format=fmt,
        segment_number=number,
        requested_by=by if by is not None and by.is_authenticated else None,
        filename=export.filename(run, number),
        stage="Waiting for a worker",
    )
    transaction.on_commit(partial(enqueue, job.pk))
    return job


def enqueue(job_id: int) -> bool:
    """Hand the job's task to the broker; never raises (a failure marks the job failed)."""
    from analysis.tasks import build_export

    try:
        build_export.apply_async((job_id,))
    except Exception as exc:  # broker down: say so on the job instead of leaving it queued
        log.warning("Export job %s not handed to the broker: %s", job_id, exc)
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
            status=ExportStatus.FAILED,
            error=f"Could not start the export: {exc}",
            finished_at=timezone.now(),
        )
        return False
    return True


def _progress(job_id: int, progress: int, stage: str) -> None:
    ExportJob.objects.filter(pk=job_id).update(progress=progress, stage=stage)


def _builder(job: ExportJob) -> Callable[[], bytes | str]:
    run = job.run
    segment = run.find_segment(job.segment_number) if job.segment_number is not None else None
    export = FORMATS[job.format]
    return lambda: export.build(run, segment)


def build(job_id: int) -> ExportJob | None:
    """Build one job's file and store it; None when the job is not queued (already done, or
    taken by another delivery). Any error fails the job with its text."""
    claimed = ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING,
        started_at=timezone.now(),
        progress=5,
        stage="Reading the stored results",
    )
    if not claimed:
        return None
    job = ExportJob.objects.select_related("run__survey").defer("content").get(pk=job_id)
    try:
        make = _builder(job)
        _progress(job_id, 20, f"Building the {job.format.upper()} file")
        content = make()
        if isinstance(content, str):
            content = content.encode("utf-8")
        _progress(job_id, 90, "Saving the file")
    except Exception as exc:
        log.exception("Export job %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:20000],
            stage="Failed",
            finished_at=timezone.now(),
        )
    else:
        # Only a job still running: an erasure of personal data may have stopped it meanwhile,
        # and its file may hold the erased ids.
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
            status=ExportStatus.SUCCEEDED,
            content=content,
            progress=100,
            stage="Done",
            finished_at=timezone.now(),
        )
    return ExportJob.objects.defer("content").get(pk=job_id)


def status_of(job: ExportJob) -> dict:
    """The JSON the job page polls; ``active`` false once finished (the page then reloads)."""
    return {
        "active": not job.is_finished,
        "id": job.pk,
        "status": job.status,
        "progress": job.progress,
        "stage": job.stage,
    }
