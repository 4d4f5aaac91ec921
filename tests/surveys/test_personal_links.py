"""Personal invitation links are for owners and researchers: with one, anyone can answer as
the invitee. Every page and API route that reveals them, for every role: owners and researchers
get them, a viewer gets 403, a member of another workspace 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from surveys import services
from surveys.models import Invitation
from tests.factories import MembershipFactory, UserFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db

# Every route that reveals personal links (the invitations page offers the CSV of them).
ROUTES = [
    ("page", "/surveys/{survey}/invitations/"),
    ("page", "/surveys/{survey}/invitations.csv"),
    ("api", "/api/surveys/{survey}/invitations-csv/"),
    ("api", "/api/invitations/?survey={survey}"),
    ("api", "/api/invitations/{invitation}/"),
]
EXPECTED = {"owner": 200, "researcher": 200, "viewer": 403, "outsider": 404}


@pytest.fixture
def invited(workspace, job):
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    services.publish_survey(survey=survey)
    invitation = Invitation.objects.create(survey=survey, external_id="person-1")
    return survey, invitation


@pytest.fixture
def people(workspace, other_workspace) -> dict:
    users = {}
    for role in ("owner", "researcher", "viewer"):
        users[role] = UserFactory(username=f"links-{role}")
        MembershipFactory(workspace=workspace, user=users[role], role=role)
    users["outsider"] = UserFactory(username="links-outsider")
    MembershipFactory(workspace=other_workspace, user=users["outsider"], role=Role.OWNER)
    return users


def _get(kind: str, url: str, user, client):
    if kind == "page":
        client.force_login(user)
        return client.get(url)
    api = APIClient()
    api.force_authenticate(user)
    return api.get(url)


@pytest.mark.parametrize("role", list(EXPECTED))
@pytest.mark.parametrize("kind,template", ROUTES, ids=[t for _, t in ROUTES])
def test_personal_links_by_role(client, invited, people, role, kind, template):
    survey, invitation = invited
    url = template.format(survey=survey.pk, invitation=invitation.pk)
    response = _get(kind, url, people[role], client)
    if role == "outsider" and "?survey=" in template:
        # Like every list of the API filtered on another workspace's id: nothing of theirs.
        assert (response.status_code, response.json()["results"]) == (200, [])
        return
    assert response.status_code == EXPECTED[role], (role, url)
    body = response.content.decode()
    if role == "viewer":
        assert invitation.token not in body
        assert "Personal links are for owners and researchers" in body
    if response.status_code == 200 and (kind == "api" or template.endswith(".csv")):
        assert invitation.path() in body


def test_a_viewer_who_views_everywhere_cannot_list_invitations(invited, people):
    api = APIClient()
    api.force_authenticate(people["viewer"])
    response = api.get("/api/invitations/")
    assert response.status_code == 403


def test_a_researcher_elsewhere_lists_only_links_where_they_may_see_them(
    invited, people, other_workspace, job
):
    """A viewer here who is a researcher in another workspace: that workspace's links only."""
    viewer = people["viewer"]
    MembershipFactory(workspace=other_workspace, user=viewer, role=Role.RESEARCHER)
    api = APIClient()
    api.force_authenticate(viewer)
    response = api.get("/api/invitations/")
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_the_survey_page_hides_the_invitations_button_from_viewers(client, invited, people):
    survey, _ = invited
    for role, shown in (("viewer", False), ("researcher", True), ("owner", True)):
        client.force_login(people[role])
        page = client.get(survey.get_absolute_url()).content.decode()
        assert (f"/surveys/{survey.pk}/invitations/" in page) is shown, role
