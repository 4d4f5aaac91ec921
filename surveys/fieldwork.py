"""Fieldwork figures of a survey: counts, completion, timing, drop-off by page, progress to target.

Read by the fieldwork page (and its JSON poll) and by the API's `fieldwork` action. They are
counts over the survey's rows, cheap enough to read on every request: no statistics.
"""

from __future__ import annotations

import statistics

from django.db.models import Count

from surveys import flow
from surveys.models import ResponseStatus, Survey


def fieldwork_stats(survey: Survey) -> dict:
    """The survey's fieldwork figures as the page and the API show them (FieldworkSerializer)."""
    counts = survey.responses.counts()
    durations = list(
        survey.responses.completed()
        .exclude(duration_seconds=None)
        .values_list("duration_seconds", flat=True)
    )
    dropoff = []
    if survey.current_version:
        pages = flow.build_pages(survey.current_version.content)
        stopped = dict(
            survey.responses.filter(
                status=ResponseStatus.IN_PROGRESS, version=survey.current_version
            )
            .values_list("page")
            .annotate(n=Count("id"))
            .values_list("page", "n")
        )
        dropoff = [
            {"page": i + 1, "title": p.title, "stopped": stopped.get(i, 0)}
            for i, p in enumerate(pages)
        ]
    target = survey.target_completes
    started = counts["started"]
    return {
        "invited": survey.invitations.count(),
        **counts,
        "completion_rate": round(100 * counts["completed"] / started, 1) if started else None,
        "median_minutes": round(statistics.median(durations) / 60, 1) if durations else None,
        "target": target,
        "target_percent": min(100, round(100 * counts["completed"] / target)) if target else None,
        "dropoff": dropoff,
        "status": survey.get_status_display(),
        "accepting": survey.is_accepting(),
    }
