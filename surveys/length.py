"""How long a survey takes, as its welcome page says: estimated from what it asks until enough
respondents have finished it, then their median time.

The estimate counts what a respondent answers. An outcome (two ratings) is about 11 s: studies
that rate 150 outcomes in full take 25–30 minutes. A question is about 8 s, and the welcome,
consent, loyalty and thank-you pages together about 45 s. Once `MEASURED_AFTER` respondents have
finished the survey's current version, the median of the most recent `MEASURED_FROM` of their
times replaces the estimate (one bounded query, so the public page stays cheap).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping

from surveys.models import ResponseStatus, SurveyVersion

SECONDS_PER_OUTCOME = 11
SECONDS_PER_QUESTION = 8
SECONDS_FIXED = 45
MEASURED_AFTER = 20
MEASURED_FROM = 201


def estimated_seconds(content: Mapping) -> int:
    """The time a version's content takes to answer, from what it asks (under a planned-subset
    design, the K outcomes each respondent rates)."""
    design = content.get("design")
    outcomes = design["k"] if design else len(content.get("outcome_codes", []))
    questions = len(content.get("questions", [])) + bool(content.get("current_solution"))
    loyalty = bool(content.get("nps")) + bool(content.get("ces"))
    return (
        SECONDS_FIXED
        + SECONDS_PER_OUTCOME * outcomes
        + SECONDS_PER_QUESTION * (questions + loyalty + bool(content.get("attention_check")))
    )


def outcomes_for_minutes(content: Mapping, minutes: int) -> int:
    """How many outcomes fit in `minutes` beside everything else the content asks (at least 1)."""
    others = estimated_seconds({**content, "outcome_codes": [], "design": None})
    return max(1, (minutes * 60 - others) // SECONDS_PER_OUTCOME)


def expected_minutes(version: SurveyVersion) -> int:
    """Whole minutes, rounded up: the median of those who finished this version once there are
    `MEASURED_AFTER` of them, else the estimate from its content."""
    seconds = list(
        version.responses.filter(status=ResponseStatus.COMPLETED)
        .exclude(duration_seconds=None)
        .order_by("-pk")  # the most recent, read backwards along the primary key
        .values_list("duration_seconds", flat=True)[:MEASURED_FROM]
    )
    if len(seconds) >= MEASURED_AFTER:
        return max(1, math.ceil(statistics.median(seconds) / 60))
    return max(1, math.ceil(estimated_seconds(version.content) / 60))
