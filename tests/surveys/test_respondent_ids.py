"""Respondent ids from the two sources, the researcher's invitations and the ids the survey makes
up itself (anonymous API submissions, the public link, invitations without an id), never claim
the same id in a survey: the second claimant would be locked out by the unique constraint."""

from __future__ import annotations

import pytest

from surveys.models import Invitation, Response, Survey
from tests.surveys.test_api import answers_for, create_survey, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_as, researcher):
    return api_as(researcher)


@pytest.fixture
def survey(api, job) -> Survey:
    body = create_survey(api, job)
    assert api.post(f"/api/surveys/{body['id']}/publish/").status_code == 200
    return Survey.objects.get(pk=body["id"])


@pytest.fixture
def codes(survey) -> list[str]:
    return list(survey.current_version.outcome_codes)


def test_an_anonymous_submission_cannot_take_an_invitees_id_and_lock_them_out(
    api, survey, codes, client
):
    anonymous = submit({"idempotency_key": "cust-7", "answers": answers_for(codes)}, survey)
    assert anonymous.status_code == 201 and anonymous.json()["respondent_id"] == "api-cust-7"

    url = f"/api/surveys/{survey.pk}/invitations/"
    refused = api.post(url, {"people": ["cust-1", "api-cust-7"]}, format="json")
    assert refused.status_code == 400
    problems = refused.json()["problems"]
    assert len(problems) == 1 and problems[0].startswith("Line 2: 'api-cust-7' begins with")
    assert "choose another id" in problems[0]
    assert Invitation.objects.count() == 0 and Response.objects.count() == 1

    # The researcher picks an id of their own: the invitee answers through their link.
    assert api.post(url, {"people": ["cust-7"]}, format="json").status_code == 201
    token = Invitation.objects.get().token
    assert client.post(f"/i/{token}/", {"page": "0"}).status_code == 302
    assert Response.objects.get(invitation__token=token).respondent_id == "cust-7"
    assert Response.objects.count() == 2


@pytest.mark.parametrize("value", ["web-abc", "inv-3", "API-x", "api-team@example.com"])
def test_ids_the_survey_gives_itself_are_refused_for_invitations_on_the_page(
    client, researcher, survey, value
):
    client.force_login(researcher)
    page = client.post(f"/surveys/{survey.pk}/invitations/", {"people": f"cust-1\n{value}\n"})
    assert page.status_code == 200
    assert "Line 2:" in page.content.decode() and "choose another id" in page.content.decode()
    assert Invitation.objects.count() == 0
