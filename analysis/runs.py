"""The lifecycle of an analysis run: request, enqueue, claim, execute, sweep and cancel.

Requesting
==========
`request_analysis` creates a queued `AnalysisRun` and hands its task to the broker after the
transaction commits. At most one run per survey is queued (a partial unique constraint): a request
while one is queued returns that run, which is the debounce for re-analysis on new responses — the
queued run reads the data when it starts, so it includes everything that arrived meanwhile. A
broker that is down loses nothing: the run stays queued and `sweep_runs` (Celery beat, every
minute) hands it over again.

Claiming, and redelivery after a lost worker
============================================
A delivery of the task claims the run with one conditional UPDATE, taking it when

1. the run is ``queued``; or
2. the run is ``running`` and its ``task_id`` is the delivery's own task id; or
3. the run is ``running`` and was claimed longer ago than the lease (the task's hard time limit
   plus a margin).

Otherwise (succeeded, failed, cancelled, or running under another task) it does nothing.

Rule 2 is what lets a run survive a worker killed mid-run: the task is ``acks_late`` with
``reject_on_worker_lost``, so its message is only acknowledged at the end and comes back — with
the same task id — when the worker dies (at once from a prefork pool's parent; from Redis once the
visibility timeout has passed). The message can only come back while its first delivery is still
running if the visibility timeout is shorter than the task's hard time limit, and settings refuse
that configuration; Celery's retries of transient errors reuse the task id too. So a second
delivery of the *same* task id means the first holder is gone, and it may take over. A different
task id (the sweep's re-enqueue of a queued run, a duplicate request) only wins the queued state,
which exactly one delivery can. Rule 3 covers a holder lost without any redelivery.

Each claim writes a fresh ``claim_token``; progress updates and the final write check it, so a
holder that was replaced stops at its next write instead of storing a second set of results.
A run claimed `MAX_ATTEMPTS` times (the worker died each time, e.g. out of memory) fails.

Retries after a dropped database connection
===========================================
A Celery retry (config/retries.py) is a new message with the same task id and a higher retry
count. The run records the count of the delivery holding it (``retries``), so a delivery with
the same task id and a *higher* count is the holder retrying, not a lost worker: it takes the run
without counting an attempt. Only redeliveries with the same count (the message came back
because its worker vanished) and claims by other tasks count as attempts.

When the retries run out (`TASK_MAX_RETRIES`), the run goes back to the queue
(`requeue_after_transient`) and the sweep hands it over again after `ANALYSIS_REQUEUE_SECONDS`,
as it does any queued run whose message is lost. After `MAX_REQUEUES` such rounds it fails,
saying that the database connection was lost each time. If another run of the survey is already
queued, that run analyses the same data, so this one fails saying so.

Executing
=========
`execute_run` claims the run and runs the compute pipeline (`analysis.pipeline`), then stores
the results (`analysis.storing`) and marks the run succeeded. Progress and stage are plain
UPDATEs between stages, outside the storing transaction. Any error marks the run failed with its
text, except transient database errors inside a task, which propagate so the task retries.

Cancelling
==========
A queued run is cancelled at once: no delivery can claim it afterwards (claims take only queued
runs, or running ones). A running run cannot be interrupted from here — its worker is another
process — so it is marked cancelled and its claim token cleared. Every write of a running run
(`_progress` between stages and `store_results` at the end) matches on ``status=running`` and the
token, so the worker's next write finds nothing, raises `Superseded` and the attempt stops
without storing results. Failing it later cannot overwrite the state either: `_finish_failed`
and `fail_run` also match on ``status=running``.

The final write locks the run row before checking it and writes the results in the same
transaction, so a cancel racing with it either wins (nothing is stored) or waits for the commit
and then finds the run succeeded (and reports it finished).
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Mapping
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from analysis.models import AnalysisRun, RunStatus
from analysis.parameters import clean_parameters
from analysis.pipeline import AnalysisError, StageTimer, compute
from analysis.storing import Superseded, store_results
from config.retries import TRANSIENT_ERRORS, drop_broken_connections
from surveys.models import Survey

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # claims: the first delivery, and the redeliveries after lost workers
MAX_REQUEUES = 3  # rounds of retries after dropped database connections
CANCELLABLE = (RunStatus.QUEUED, RunStatus.RUNNING)


# --- requesting ---------------------------------------------------------------------------------


def request_analysis(
    *, survey: Survey, parameters: Mapping[str, Any] | None = None, by=None
) -> AnalysisRun:
    """Queue an analysis of `survey`, or return the run already queued for it (the debounce).

    The task is handed to the broker after the surrounding transaction commits."""
    params = clean_parameters(parameters)
    for _ in range(3):
        queued = AnalysisRun.objects.filter(survey=survey, status=RunStatus.QUEUED).first()
        if queued is not None:
            return queued
        try:
            with transaction.atomic():
                run = AnalysisRun.objects.create(survey=survey, parameters=params, requested_by=by)
        except IntegrityError:
            continue  # another request queued one between our check and insert: join it
        transaction.on_commit(partial(enqueue, run.pk))
        return run
    raise RuntimeError(f"could not queue an analysis of survey {survey.pk}")  # pragma: no cover


def request_reanalysis(*, survey_id: int) -> AnalysisRun:
    """Re-analysis after new responses, with the parameters of the survey's latest run (a
    researcher's choice of k or seed carries over), or the defaults for a first run."""
    survey = Survey.objects.get(pk=survey_id)
    latest = AnalysisRun.objects.filter(survey=survey).order_by("-created_at", "-id").first()
    parameters = latest.parameters if latest is not None else None
    try:
        return request_analysis(survey=survey, parameters=parameters)
    except ValidationError:  # parameters from an older release that no longer validate
        return request_analysis(survey=survey)


def enqueue(run_id: int) -> bool:
    """Hand a queued run's task to the broker; never raises (the caller may be a respondent).

    On failure the run stays queued and `sweep_runs` tries again. Without a broker the run
    executes in-process: in a thread of its own (`ANALYSIS_IN_THREAD`), so the request that
    asked for it answers at once and its page follows the progress, or else right here."""
    from analysis.tasks import run_analysis

    try:
        if settings.CELERY_TASK_ALWAYS_EAGER and settings.ANALYSIS_IN_THREAD:
            # Marked before the thread starts: its first write (the claim) would otherwise race
            # this one, and SQLite refuses one of two concurrent writers.
            _mark_enqueued(run_id)
            threading.Thread(
                target=_execute_in_thread, args=(run_id,), name=f"analysis-{run_id}", daemon=True
            ).start()
        else:
            run_analysis.apply_async((run_id,))
            _mark_enqueued(run_id)
    except Exception as exc:  # broker down, connection refused, timeouts: all the same here
        log.warning("Analysis run %s not handed to the broker yet: %s", run_id, exc)
        return False
    return True


def _mark_enqueued(run_id: int) -> None:
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        enqueued_at=timezone.now()
    )


def _execute_in_thread(run_id: int) -> None:
    try:
        execute_run(run_id)
    except Exception:  # execute_run stores the errors it expects; this is for the others
        log.exception("Analysis run %s failed in its thread", run_id)
    finally:
        connections.close_all()  # the thread's own connections


def lease() -> timedelta:
    """How long a claim protects a running run: no task can run longer (hard time limit)."""
    return timedelta(seconds=settings.ANALYSIS_TIME_LIMIT + 60)


def sweep_runs(now=None, *, requeue_after: timedelta = timedelta(minutes=5)) -> int:
    """Hand over again the runs whose message was lost; returns how many were sent.

    Queued runs never handed over (broker down) or handed over long ago, and running runs
    whose lease expired (worker lost and the message gone). Runs out of attempts fail."""
    now = now or timezone.now()
    abandoned = AnalysisRun.objects.abandoned(now, lease=lease())
    abandoned.filter(attempts__gte=MAX_ATTEMPTS).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error=(
            f"Gave up after {MAX_ATTEMPTS} attempts: each one stopped without finishing or "
            "saying why (its worker was lost, for example killed for using too much memory)."
        ),
    )
    ids = list(
        AnalysisRun.objects.stale_queued(now, after=requeue_after).values_list("id", flat=True)
    )
    ids += list(abandoned.values_list("id", flat=True))
    return sum(enqueue(run_id) for run_id in ids)


# --- claiming -----------------------------------------------------------------------------------


def claim_run(run_id: int, *, task_id: str | None = None, retries: int = 0, now=None) -> str | None:
    """Claim the run for this delivery (see the module docstring); the claim token, or None if
    the run is not ours to execute. `retries` is the delivery's Celery retry count."""
    now = now or timezone.now()
    token = uuid.uuid4().hex
    claim = {
        "status": RunStatus.RUNNING,
        "task_id": task_id or "",
        "claim_token": token,
        "retries": retries,
        "started_at": now,
        "heartbeat_at": now,
        "progress": 0,
        "stage": "Starting",
        "error": "",
    }
    if task_id and retries:
        # The holder retrying after a dropped connection: the same run, not another attempt.
        retrying = AnalysisRun.objects.filter(
            pk=run_id, status=RunStatus.RUNNING, task_id=task_id, retries__lt=retries
        )
        if retrying.update(**claim):
            return token
    claimable = Q(status=RunStatus.QUEUED) | Q(
        status=RunStatus.RUNNING, started_at__lt=now - lease()
    )
    if task_id:
        claimable |= Q(status=RunStatus.RUNNING, task_id=task_id)
    claimed = AnalysisRun.objects.filter(claimable, pk=run_id).update(
        **claim, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    attempts = AnalysisRun.objects.filter(pk=run_id).values_list("attempts", flat=True).get()
    if attempts > MAX_ATTEMPTS:
        _finish_failed(
            run_id,
            token,
            f"Gave up after {MAX_ATTEMPTS} attempts: the worker running it was lost each time "
            "(for example killed for using too much memory).",
        )
        return None
    return token


def _progress(run_id: int, token: str, progress: int, stage: str) -> None:
    updated = AnalysisRun.objects.filter(
        pk=run_id, status=RunStatus.RUNNING, claim_token=token
    ).update(progress=progress, stage=stage, heartbeat_at=timezone.now())
    if not updated:
        raise Superseded(run_id)


def _finish_failed(run_id: int, token: str, error: str) -> None:
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, claim_token=token).update(
        status=RunStatus.FAILED, error=error[:20000], finished_at=timezone.now()
    )


def fail_run(run_id: int, *, task_id: str, error: str) -> None:
    """Mark a run failed that its task gave up on, if it still holds it."""
    AnalysisRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, task_id=task_id).update(
        status=RunStatus.FAILED, error=error[:20000], finished_at=timezone.now()
    )


def requeue_after_transient(run_id: int, *, task_id: str, error: str, now=None) -> str:
    """The task's retries after dropped database connections ran out: put the run back in the
    queue for the sweep to hand over later (module docstring); what became of it."""
    drop_broken_connections()
    now = now or timezone.now()
    holding = AnalysisRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, task_id=task_id)
    run = holding.first()
    if run is None:
        return "not held"
    tries = f"{run.retries + 1} tries"
    if run.requeues >= MAX_REQUEUES:
        fail_run(
            run_id,
            task_id=task_id,
            error=f"Gave up: the database connection was lost on each of {tries}, "
            f"{run.requeues + 1} times over. Last error: {error}",
        )
        return "failed"
    try:
        with transaction.atomic():
            holding.update(
                status=RunStatus.QUEUED,
                task_id="",
                claim_token="",
                enqueued_at=now,  # the sweep sends it again ANALYSIS_REQUEUE_SECONDS from now
                requeues=F("requeues") + 1,
                attempts=F("attempts")
                - 1,  # this claim ended for a known reason, not a lost worker
                progress=0,
                stage="Waiting to try again: the database connection was lost",
                error=f"The database connection was lost on each of {tries}: {error}",
            )
    except IntegrityError:  # another run of the survey is queued: it reads the same data
        fail_run(
            run_id,
            task_id=task_id,
            error=f"Stopped: the database connection was lost on each of {tries}. The analysis "
            "queued after it covers the same responses.",
        )
        return "failed"
    return "requeued"


# --- executing ----------------------------------------------------------------------------------


def execute_run(run_id: int, *, task_id: str | None = None, retries: int = 0) -> AnalysisRun | None:
    """Claim and execute one run; None if it was not ours (already done, or held by another).

    `task_id` and `retries` are the Celery delivery's id and retry count (None and 0 when run
    synchronously): transient database errors then propagate for the task to retry, instead of
    failing the run."""
    token = claim_run(run_id, task_id=task_id, retries=retries)
    if token is None:
        return None
    return _execute_claimed(run_id, token, propagate_transient=bool(task_id))


def analyze_now(
    *, survey: Survey, parameters: Mapping[str, Any] | None = None, by=None
) -> AnalysisRun:
    """Run an analysis synchronously in this process (the `analyze` command): a run created
    already claimed, executed by the same code as the task. It does not touch a queued run."""
    params = clean_parameters(parameters)
    token = uuid.uuid4().hex
    now = timezone.now()
    run = AnalysisRun.objects.create(
        survey=survey,
        parameters=params,
        requested_by=by,
        status=RunStatus.RUNNING,
        claim_token=token,
        attempts=1,
        started_at=now,
        heartbeat_at=now,
        stage="Starting",
    )
    result = _execute_claimed(run.pk, token, propagate_transient=False)
    return result if result is not None else AnalysisRun.objects.get(pk=run.pk)


def _execute_claimed(run_id: int, token: str, *, propagate_transient: bool) -> AnalysisRun | None:
    run = AnalysisRun.objects.select_related("survey").get(pk=run_id)
    timer = StageTimer()
    try:
        results = compute(run, timer=timer, progress=lambda p, s: _progress(run_id, token, p, s))
        _progress(run_id, token, 95, "Saving results")
        store_results(run_id, token, results, timer)
    except Superseded:
        log.info("Analysis run %s was taken over or cancelled; this attempt stops.", run_id)
        return None
    except TRANSIENT_ERRORS:
        if propagate_transient:
            raise
        _finish_failed(run_id, token, traceback.format_exc(limit=5))
    except AnalysisError as exc:
        _finish_failed(run_id, token, str(exc))
    except Exception as exc:
        log.exception("Analysis run %s failed", run_id)
        _finish_failed(run_id, token, _error_text(exc))
    return AnalysisRun.objects.get(pk=run_id)


def _error_text(exc: BaseException) -> str:
    from celery.exceptions import SoftTimeLimitExceeded

    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            f"The analysis took longer than {settings.ANALYSIS_SOFT_TIME_LIMIT} seconds and was "
            "stopped. Try turning segmentation off or fixing the number of segments."
        )
    return f"{type(exc).__name__}: {exc}\n\n" + "".join(traceback.format_exception(exc, limit=8))


# --- cancelling ---------------------------------------------------------------------------------


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
