"""Transient database errors: retries are not lost workers, and a run out of retries goes back
to the queue (analysis.runs, "Retries after a dropped database connection").

The real thing (a worker whose PostgreSQL backend is terminated) is in
tests/integration/test_task_retries.py; these hold the rules on either database."""

from __future__ import annotations

from datetime import timedelta

from django.db import OperationalError
from django.utils import timezone

from analysis import runs
from analysis.models import AnalysisRun, RunStatus
from analysis.tasks import run_analysis
from tests.analysis.test_runs import held_run


def test_retries_of_the_holding_task_are_not_counted_as_lost_workers(workspace):
    run = held_run(workspace)
    for retry in range(1, 6):  # five retries, more than MAX_ATTEMPTS
        assert runs.claim_run(run.pk, task_id="task-1", retries=retry)
    run.refresh_from_db()
    assert (run.status, run.attempts, run.retries) == (RunStatus.RUNNING, 1, 5)
    # The same retry delivered again: its worker was lost, and that is an attempt.
    assert runs.claim_run(run.pk, task_id="task-1", retries=5)
    run.refresh_from_db()
    assert (run.attempts, run.retries) == (2, 5)


def test_a_run_out_of_retries_goes_back_to_the_queue_and_the_sweep_hands_it_over(workspace):
    run = held_run(workspace, retries=5)
    drop = OperationalError("terminating connection due to administrator command")
    run_analysis.on_failure(drop, "task-1", (run.pk,), {}, None)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED and run.requeues == 1 and run.attempts == 0
    assert "database connection was lost on each of 6 tries" in run.error
    assert runs.sweep_runs() == 0  # not at once: later
    later = timezone.now() + timedelta(minutes=6)
    assert runs.sweep_runs(later) == 1  # in-process here: the run executes
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED and run.error == "" and run.attempts == 1


def test_a_run_whose_connection_keeps_dropping_fails_saying_so(workspace):
    run = held_run(workspace, retries=5, requeues=runs.MAX_REQUEUES)
    run_analysis.on_failure(
        OperationalError("server closed the connection"), "task-1", (run.pk,), {}, None
    )
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert run.error.startswith("Gave up: the database connection was lost on each of 6 tries")
    assert "worker" not in run.error


def test_a_run_out_of_retries_with_another_queued_leaves_the_data_to_that_one(workspace):
    run = held_run(workspace, retries=5)
    later = AnalysisRun.objects.create(survey=run.survey)
    run_analysis.on_failure(OperationalError("gone"), "task-1", (run.pk,), {}, None)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "queued after it" in run.error
    assert AnalysisRun.objects.get(pk=later.pk).status == RunStatus.QUEUED
