"""The welcome page says how long the survey takes: estimated from what it asks, then measured
once enough respondents have finished."""

from __future__ import annotations

import pytest
from django.test import Client

from surveys import length, services
from surveys.models import Question, Response, ResponseStatus
from tests.factories import JobFactory, add_outcomes

pytestmark = pytest.mark.django_db


def published(workspace, outcomes: int, welcome: str | None = None):
    job = JobFactory(workspace=workspace)
    add_outcomes(
        job, [f"Minimize the time it takes to finish task number {i}" for i in range(outcomes)]
    )
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    if welcome is not None:
        survey.welcome_text = welcome
        survey.save(update_fields=["welcome_text"])
    Question.objects.create(survey=survey, key="role", kind="text", text="Your role?", order=1)
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    return survey


def test_the_estimate_counts_outcomes_questions_and_the_fixed_pages():
    content = {"outcome_codes": ["O1"] * 30, "questions": [{}, {}], "nps": "How likely…"}
    expected = (
        length.SECONDS_FIXED + 30 * length.SECONDS_PER_OUTCOME + 3 * length.SECONDS_PER_QUESTION
    )
    assert length.estimated_seconds(content) == expected == 45 + 330 + 24
    assert length.estimated_seconds({}) == length.SECONDS_FIXED


def test_a_new_survey_says_the_estimate_from_its_own_length(workspace):
    short, long = published(workspace, 3), published(workspace, 60)
    # 45 + 3 × 11 + 8 s → 2 minutes; 45 + 60 × 11 + 8 s → 12 minutes (rounded up).
    assert "It takes about 2 minutes." in Client().get(short.public_path()).content.decode()
    assert "It takes about 12 minutes." in Client().get(long.public_path()).content.decode()
    assert "10 minutes" not in Client().get(long.public_path()).content.decode()


def test_after_enough_completions_the_page_says_their_median(workspace):
    survey = published(workspace, 60)
    version = survey.current_version

    def finished(n: int, seconds: float | None) -> None:
        Response.objects.bulk_create(
            Response(
                survey=survey,
                version=version,
                respondent_id=f"web-{Response.objects.count()}-{i}",
                status=ResponseStatus.COMPLETED,
                duration_seconds=seconds,
            )
            for i in range(n)
        )

    finished(length.MEASURED_AFTER - 2, 100.0)
    finished(3, None)  # no time recorded: not counted
    assert length.expected_minutes(version) == 12  # 18 timed: the estimate still
    finished(1, 10_000.0)
    finished(1, 100.0)
    # 20 timed: the median (100 s → 2 minutes), not the mean (595 s → 10 minutes).
    assert length.expected_minutes(version) == 2
    page = Client().get(survey.public_path()).content.decode()
    assert "It takes about 2 minutes." in page


def test_only_the_latest_completions_count(workspace):
    survey = published(workspace, 60)
    version = survey.current_version
    rows = [
        Response(
            survey=survey,
            version=version,
            respondent_id=f"web-{i}",
            status=ResponseStatus.COMPLETED,
            duration_seconds=1000.0 if i < 230 else 100.0,  # the older ones were slow
        )
        for i in range(230 + length.MEASURED_FROM)
    ]
    Response.objects.bulk_create(rows)
    # The latest 201 took 100 s; over all 431 the median would be 1000 s (17 minutes).
    assert length.expected_minutes(version) == 2


def test_a_welcome_text_that_states_a_length_is_left_to_say_it(workspace):
    survey = published(workspace, 3, welcome="This takes 15 minutes. Thank you!")
    page = Client().get(survey.public_path()).content.decode()
    assert "This takes 15 minutes." in page and "It takes about" not in page
