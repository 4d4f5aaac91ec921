"""Exports of large surveys as background jobs: request, build (in a Celery task), download.

A run with fewer than `EXPORT_INLINE_LIMIT` respondents (settings, default 20,000) is exported
in the request as before (the API's /api/surveys/<id>/exports/); above it the results page posts
here, `request_export` creates an `ExportJob` and hands its task to the broker after the
transaction commits (run in-process when there is no broker: CELERY_TASK_ALWAYS_EAGER). The task
builds the file with the builders of `analysis.export_formats` (as the API does), reporting
progress, and stores it in the job row; the job page polls a small JSON status and then offers
the download.

A job whose worker is lost (killed, out of memory) stays "running" until `sweep_jobs`, run by
Celery beat with the analysis sweep, finds it running for longer than any task may run (the
analysis lease) and queues it again; after `MAX_ATTEMPTS` claims it fails, saying the worker was
lost each time. A queued job whose message Redis lost, or that could not be handed to the broker
at all (Redis down when it was requested), is handed over again by the same sweep
(`ExportJob.objects.stale_queued`, the rule analysis runs follow).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analysis.export_formats import FORMATS, listed
from analysis.models import AnalysisRun, ExportJob, ExportStatus
from analysis.runs import lease

log = logging.getLogger(__name__)

DEFAULT_INLINE_LIMIT = 20_000
MAX_ATTEMPTS = 3


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
    """Hand the job's task to the broker; never raises. On failure the job stays queued, saying
    so, and `sweep_jobs` tries again."""
    from analysis.tasks import build_export

    try:
        build_export.apply_async((job_id,))
    except Exception as exc:  # broker down, connection refused, timeouts: all the same here
        log.warning("Export job %s not handed to the broker yet: %s", job_id, exc)
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
            stage="Waiting for the task queue to come back"
        )
        return False
    ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        enqueued_at=timezone.now()
    )
    return True


def sweep_jobs(now=None, *, requeue_after: timedelta = timedelta(minutes=5)) -> int:
    """Queue again the jobs whose worker was lost and hand over the queued jobs whose message
    was lost; fail the jobs lost `MAX_ATTEMPTS` times. Returns how many were handed over."""
    now = now or timezone.now()
    lost = ExportJob.objects.abandoned(now, lease=lease())
    lost.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=ExportStatus.FAILED,
        stage="Failed",
        error=f"Gave up after {MAX_ATTEMPTS} attempts: the worker building the file was lost "
        "each time (for example killed for using too much memory).",
        finished_at=now,
    )
    ids = list(
        ExportJob.objects.stale_queued(now, after=requeue_after).values_list("id", flat=True)
    )
    for job_id in lost.values_list("id", flat=True):
        requeued = ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING).update(
            status=ExportStatus.QUEUED, progress=0, stage="Waiting for a worker (again)"
        )
        ids += [job_id] if requeued else []
    return sum(enqueue(job_id) for job_id in ids)


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
        attempts=F("attempts") + 1,
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
