"""Celery tasks of analysis: thin adapters that take ids and call the run lifecycle.

`run_analysis` is acknowledged late and rejected (so redelivered) when its worker is lost; the
claim rule in `analysis.runs` makes a redelivery finish the run exactly once. Only transient
database errors are retried (config/retries.py); when those retries run out the run goes back to
the queue for the sweep (`runs.requeue_after_transient`). Any other error fails the run with its
text.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task, shared_task
from django.conf import settings

from analysis import runs
from config.retries import TRANSIENT_ERRORS, retry_options

log = logging.getLogger(__name__)


class AnalysisTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Reached when retries are exhausted: the run would otherwise stay "running" until the
        # sweep notices its lease expired.
        if not args:
            return
        error = f"{type(exc).__name__}: {exc}".strip()
        try:
            if isinstance(exc, TRANSIENT_ERRORS):
                runs.requeue_after_transient(args[0], task_id=task_id, error=error)
            else:
                runs.fail_run(args[0], task_id=task_id, error=f"{error} (gave up)")
        except Exception as problem:  # the database may still be down; the sweep catches up
            log.warning("Could not record the end of analysis run %s: %s", args[0], problem)


@shared_task(
    base=AnalysisTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.ANALYSIS_SOFT_TIME_LIMIT,
    time_limit=settings.ANALYSIS_TIME_LIMIT,
    **retry_options(),
)
def run_analysis(self, run_id: int) -> str:
    """Execute one analysis run; a delivery for a run that is not ours does nothing."""
    run = runs.execute_run(run_id, task_id=self.request.id, retries=self.request.retries or 0)
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


@shared_task(ignore_result=True)
def sweep_export_jobs() -> int:
    """Periodic catch-up: build again the export jobs whose worker was lost or whose message
    Redis lost; fail those lost too often (analysis.export_jobs.sweep_jobs)."""
    from analysis import export_jobs

    return export_jobs.sweep_jobs(
        requeue_after=timedelta(seconds=settings.ANALYSIS_REQUEUE_SECONDS)
    )
