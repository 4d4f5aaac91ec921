"""Workspace scoping of the surveys API, checked on every survey route the project routes.

As in tests/jtbd/test_scoping.py, the routes are enumerated from the URL resolver. The 404 that a
member of another workspace gets on every survey, question, invitation and response (and the
anonymous 401/403) is checked for every route in tests/security/test_isolation.py; here, that a
new question or survey cannot point into another workspace.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from surveys import services
from surveys.models import Invitation, Question, Response, Survey, SurveyVersion
from tests.factories import JobFactory, add_outcomes
from tests.jtbd.test_scoping import Route, all_routes

pytestmark = pytest.mark.django_db

TARGETS = {
    "surveys": "survey",
    "questions": "question",
    "invitations": "invitation",
    "responses": "response",
}


def survey_routes() -> list[Route]:
    return [r for r in all_routes() if r.is_api and "pk" in r.params and r.target in TARGETS]


API_ROUTES = survey_routes()


def test_the_enumeration_finds_every_survey_api_route():
    names = {str(r) for r in API_ROUTES}
    for expected in (
        "api:survey-detail",
        "api:survey-publish",
        "api:survey-close",
        "api:survey-reopen",
        "api:survey-fieldwork",
        "api:survey-versions",
        "api:survey-import-responses",
        "api:survey-add-invitations",
        "api:survey-invitations-csv",
        "api:question-detail",
        "api:invitation-detail",
        "api:response-detail",
        "api:response-inclusion",
    ):
        assert expected in names, names


@pytest.fixture
def victim(workspace, job, researcher):
    """Workspace B: a published survey with a question, an invitation and a response."""
    survey = services.create_survey(workspace=workspace, job=job, title="B's survey")
    question = Question.objects.create(survey=survey, key="role", kind="text", text="Role")
    services.publish_survey(survey=survey)
    survey.refresh_from_db()
    invitation = Invitation.objects.create(survey=survey, external_id="b-1")
    codes = survey.current_version.outcome_codes
    body = {
        "idempotency_key": "b",
        "answers": {
            "ratings": {c: {"importance": 4, "satisfaction": i + 1} for i, c in enumerate(codes)},
            "profile": {"role": "Lead"},
        },
    }
    url = f"/api/public/surveys/{survey.public_token}/responses/"
    assert APIClient().post(url, body, format="json").status_code == 201
    return {
        "survey": survey,
        "question": question,
        "invitation": invitation,
        "response": Response.objects.get(survey=survey),
        "job": job,
    }


@pytest.fixture
def attacker(outsider, other_workspace):
    own = JobFactory(workspace=other_workspace, statement="Keep my own team's work on track")
    add_outcomes(own, ["Minimize the time it takes to see who is blocked on the team"])
    services.create_survey(workspace=other_workspace, job=own, title="A's survey")
    return outsider


def snapshot() -> tuple:
    return (
        list(
            Survey.objects.order_by("pk").values_list(
                "pk", "workspace_id", "title", "status", "current_version_id", "welcome_text"
            )
        ),
        list(SurveyVersion.objects.order_by("pk").values_list("pk", "survey_id", "number")),
        list(Question.objects.order_by("pk").values_list("pk", "survey_id", "key", "text")),
        list(Invitation.objects.order_by("pk").values_list("pk", "survey_id", "external_id")),
        list(
            Response.objects.order_by("pk").values_list(
                "pk", "survey_id", "status", "include_override"
            )
        ),
    )


def test_another_workspaces_survey_cannot_get_questions_or_carry_a_new_survey(attacker, victim):
    api = APIClient()
    api.force_authenticate(attacker)
    before = snapshot()
    question = api.post(
        "/api/questions/",
        {"survey": victim["survey"].pk, "kind": "text", "text": "Hijacked?"},
        format="json",
    )
    assert question.status_code == 400
    assert "does not exist" in str(question.json()["survey"])
    survey = api.post(
        "/api/surveys/", {"job": victim["job"].pk, "title": "Hijacked"}, format="json"
    )
    assert survey.status_code == 400
    assert "does not exist" in str(survey.json()["job"])
    assert snapshot() == before
