"""Celery tasks of analysis: thin adapters that take ids and call the run lifecycle.

`run_analysis` is acknowledged late and rejected (so redelivered) when its worker is lost; the
claim rule in `analysis.runs` makes a redelivery finish the run exactly once. Only transient
database errors are retried, with exponential backoff; any other error fails the run with its text.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings

from analysis import runs

log = logging.getLogger(__name__)


class AnalysisTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Reached when retries are exhausted (the database stayed unreachable): the run would
        # otherwise stay "running" until the sweep notices its lease expired.
        if args:
            try:
                runs.fail_run(
                    args[0], task_id=task_id, error=f"{type(exc).__name__}: {exc} (gave up)"
                )
            except Exception as error:  # the database may still be down; the sweep catches up
                log.warning("Could not mark analysis run %s failed: %s", args[0], error)


@shared_task(
    base=AnalysisTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ANALYSIS_SOFT_TIME_LIMIT,
    time_limit=settings.ANALYSIS_TIME_LIMIT,
    autoretry_for=runs.TRANSIENT_ERRORS,
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def run_analysis(self, run_id: int) -> str:
    """Execute one analysis run; a delivery for a run that is not ours does nothing."""
    run = runs.execute_run(run_id, task_id=self.request.id)
    return run.status if run is not None else "skipped"


@shared_task(ignore_result=True)
def sweep_analysis_runs() -> int:
    """Periodic catch-up: hand over runs whose task message was lost (e.g. Redis was down)."""
    return runs.sweep_runs(requeue_after=timedelta(seconds=settings.ANALYSIS_REQUEUE_SECONDS))


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ANALYSIS_SOFT_TIME_LIMIT,
    time_limit=settings.ANALYSIS_TIME_LIMIT,
)
def build_export(job_id: int) -> str:
    """Build one export job's file (analysis.export_jobs); a redelivery of a finished or
    running job does nothing."""
    from analysis import export_jobs

    job = export_jobs.build(job_id)
    return job.status if job is not None else "skipped"
