"""The outbox sends again whatever is not processed, and processing it twice is harmless.

The fault itself (Redis killed with an entry's message in it, completions joining that entry) is
in tests/integration/test_outbox_resend.py; these hold the rules on either database."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.db import OperationalError
from django.utils import timezone

from surveys import services, tasks
from surveys.models import Outbox
from tests.factories import JobFactory


@pytest.fixture
def survey(workspace):
    job = JobFactory(workspace=workspace)
    return services.create_survey(workspace=workspace, job=job, title="Adoption")


def sent(survey, seconds_ago: float, **fields) -> Outbox:
    at = timezone.now() - timedelta(seconds=seconds_ago)
    return Outbox.objects.create(
        survey=survey, kind="response_completed", dispatched_at=at, **fields
    )


def test_dispatch_pending_sends_again_what_was_sent_but_not_processed(survey, settings):
    settings.OUTBOX_RESEND_SECONDS = 60
    lost = sent(survey, 90)  # its message died with Redis, say
    on_its_way = sent(survey, 5)
    done = sent(survey, 90, processed_at=timezone.now())
    never = Outbox.objects.create(survey=survey, kind="response_completed")
    with mock.patch.object(tasks.process_outbox_entry, "delay") as delay:
        assert services.dispatch_pending() == 2
    assert sorted(c.args[0] for c in delay.call_args_list) == [lost.pk, never.pk]
    for entry in (lost, on_its_way, done, never):
        entry.refresh_from_db()
    assert lost.dispatched_at > timezone.now() - timedelta(seconds=5)
    # Sent just now: not again until its resend time has passed.
    with mock.patch.object(tasks.process_outbox_entry, "delay") as delay:
        assert services.dispatch_pending() == 0


def test_an_entry_sent_twice_is_processed_once(survey):
    entry = sent(survey, 90)
    handler = mock.Mock()
    with mock.patch.dict(tasks.HANDLERS, {"response_completed": handler}):
        tasks.process_outbox_entry(entry.pk)
        first = Outbox.objects.get(pk=entry.pk).processed_at
        tasks.process_outbox_entry(entry.pk)  # the re-sent message arrives too
    handler.assert_called_once_with(survey.pk)
    entry.refresh_from_db()
    assert entry.processed_at == first and entry.attempts == 1


def test_processing_that_loses_its_database_connection_is_retried(survey):
    entry = sent(survey, 1)
    handler = mock.Mock(side_effect=[OperationalError("server closed the connection"), None])
    with mock.patch.dict(tasks.HANDLERS, {"response_completed": handler}):
        # In-process, with the error handed back instead of raised: retries run at once.
        tasks.process_outbox_entry.apply((entry.pk,), throw=False)
    assert handler.call_count == 2
    entry.refresh_from_db()
    assert entry.processed_at is not None
