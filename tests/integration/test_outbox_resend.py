"""Requests for re-analysis that Redis lost are sent again, with nobody touching anything.

A respondent finishes while Redis is up: the outbox entry is sent, and its message waits in the
queue. Redis is then killed (SIGKILL, no persistence: the message is gone) and more respondents
finish during the outage; their completions join that entry, already marked sent. Redis comes
back empty and a worker with beat starts. Everything must be processed, and the survey
re-analysed with every response, by beat's catch-up alone.

Skipped unless the suite runs on PostgreSQL and redis-server is installed.
"""

from __future__ import annotations

import signal

import pytest

from analysis.models import AnalysisRun
from surveys.models import Outbox, Response, ResponseStatus
from tests.integration.servers import (
    NEEDS_REDIS_SERVER,
    SHARES_POSTGRES,
    CeleryWorker,
    Gunicorn,
    Process,
    RedisServer,
    logs,
    stopped_after,
    wait_for,
)
from tests.integration.test_faults import Respondent, finished, make_survey, queued_messages

pytestmark = [*SHARES_POSTGRES, NEEDS_REDIS_SERVER]


@pytest.mark.timeout(300)
def test_requests_sent_just_before_redis_died_and_those_joining_them_are_processed(tmp_path):
    survey, invitations = make_survey(outcomes=8, invitations=4)
    broker = RedisServer(tmp_path)
    processes: list[Process] = [broker]

    with stopped_after(processes):
        server = Gunicorn(tmp_path, workers=1, threads=2, REDIS_URL=broker.url)
        processes.append(server)
        people = [Respondent(server.port, inv, i) for i, inv in enumerate(invitations)]
        first, *during = people
        fields, _ = first.answer_until_final()
        assert finished(first.submit(fields), first.path)
        (sent,) = Outbox.objects.filter(survey=survey)
        assert sent.dispatched_at is not None and len(queued_messages(broker)) == 1

        broker.stop(signal.SIGKILL)  # the message dies with it
        for person in during:
            fields, _ = person.answer_until_final()
            assert finished(person.submit(fields), person.path)
        # The completions joined the entry that is marked sent: nothing waits to be sent.
        assert list(Outbox.objects.filter(survey=survey)) == [sent]
        assert Outbox.objects.get(pk=sent.pk).processed_at is None

        broker = RedisServer(tmp_path, port=broker.port)  # back, empty
        processes.append(broker)
        processes.append(
            CeleryWorker(
                tmp_path,
                beat=True,
                REDIS_URL=broker.url,
                DB_CONN_MAX_AGE="0",
                # Beat's outbox catch-up every 2 s, re-sending what is unprocessed 5 s after
                # its last send (60 s in production).
                OUTBOX_SWEEP_SECONDS="2",
                OUTBOX_RESEND_SECONDS="5",
            )
        )
        completed = Response.objects.filter(survey=survey, status=ResponseStatus.COMPLETED)
        assert completed.count() == 4
        last = completed.latest("completed_at").completed_at
        wait_for(
            lambda: not Outbox.objects.filter(survey=survey, processed_at=None).exists(),
            120,
            "the outbox to be processed",
            logs(processes),
        )
        assert Outbox.objects.get(pk=sent.pk).processed_at > last
        # The processing queued a re-analysis, which read every response.
        run = wait_for(
            lambda: AnalysisRun.objects.filter(survey=survey, finished_at__isnull=False).first(),
            120,
            "the re-analysis",
            logs(processes),
        )
        assert run.created_at > last
        print(f"\nre-analysis {run.status}: {run.fingerprint.get('responses')} responses")
        assert run.fingerprint.get("responses") == 4, (run.status, run.error)
