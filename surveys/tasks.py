"""Celery tasks of surveys: thin adapters that take ids and call services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from surveys import services
from surveys.models import Outbox


def _response_completed(survey_id: int) -> None:
    services.refresh_speeders(survey_id=survey_id)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Without a broker tasks run inside the request, so a re-analysis here would make the
        # respondent wait for it; researchers start one from the Analysis page instead.
        return
    # Re-analyse with the new response. Debounced: while a run of this survey is queued the
    # request joins it (at most one queued run per survey; it reads the data when it starts).
    from analysis.runs import request_reanalysis

    request_reanalysis(survey_id=survey_id)


HANDLERS = {
    "response_completed": _response_completed,
}


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def process_outbox_entry(entry_id: int) -> None:
    """Handle one outbox entry once; a second delivery of a processed entry does nothing.

    The lock on the entry comes first: a request that joined this entry (see
    `services.request_background`) holds it until its transaction commits, so the handler reads
    that transaction's data; and while the handler runs, new requests see the entry locked and
    write an entry of their own."""
    with transaction.atomic():
        entry = Outbox.objects.select_for_update().filter(pk=entry_id, processed_at=None).first()
        if entry is None:
            return
        Outbox.objects.filter(pk=entry_id).update(attempts=F("attempts") + 1)
        HANDLERS[entry.kind](entry.survey_id)
        Outbox.objects.filter(pk=entry_id).update(processed_at=timezone.now(), last_error="")


@shared_task
def dispatch_pending_outbox() -> int:
    """Periodic catch-up: dispatch requests whose first dispatch failed (e.g. Redis was down)."""
    return services.dispatch_pending()
