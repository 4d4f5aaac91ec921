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

    def finished(n: int, seconds: float) -> None:
        for _ in range(n):
            Response.objects.create(
                survey=survey,
                version=version,
                respondent_id=f"web-{Response.objects.count()}",
                status=ResponseStatus.COMPLETED,
                duration_seconds=seconds,
            )

    finished(length.MEASURED_AFTER - 1, 250.0)
    assert length.expected_minutes(version) == 12  # too few yet: the estimate
    finished(1, 250.0)
    assert length.expected_minutes(version) == 5  # 250 s, rounded up
    page = Client().get(survey.public_path()).content.decode()
    assert "It takes about 5 minutes." in page


def test_a_welcome_text_that_states_a_length_is_left_to_say_it(workspace):
    survey = published(workspace, 3, welcome="This takes 15 minutes. Thank you!")
    page = Client().get(survey.public_path()).content.decode()
    assert "This takes 15 minutes." in page and "It takes about" not in page
