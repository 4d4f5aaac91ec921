"""Cancelling an analysis run, queued or running.

A queued run is cancelled at once: no delivery can claim it afterwards (claims take only queued
runs, or running ones). A running run cannot be interrupted from here — its worker is another
process — so it is marked cancelled and its claim token cleared. Every write of a running run
(`services._progress` between stages and `services.store_results` at the end) matches on
``status=running`` and the token, so the worker's next write finds nothing, raises `Superseded`
and the attempt stops without storing results. Failing it later cannot overwrite the state
either: `_finish_failed` and `fail_run` also match on ``status=running``.

The final write locks the run row before checking it and writes the results in the same
transaction, so a cancel racing with it either wins (nothing is stored) or waits for the commit
and then finds the run succeeded (and reports it finished).
"""

from __future__ import annotations

from django.utils import timezone

from analysis.models import AnalysisRun, RunStatus

CANCELLABLE = (RunStatus.QUEUED, RunStatus.RUNNING)


def cancel_run(*, run: AnalysisRun) -> bool:
    """Cancel `run` if it is queued or running; False if it had already finished.

    `run` is refreshed either way, so the caller sees the state the database now holds."""
    cancelled = AnalysisRun.objects.filter(pk=run.pk, status__in=CANCELLABLE).update(
        status=RunStatus.CANCELLED,
        claim_token="",
        stage="Cancelled",
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return bool(cancelled)
