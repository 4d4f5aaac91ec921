"""Erasure removes what a respondent typed, which can name them (or a colleague or a customer):
answers to short-text questions and a "something else" current solution go from the database,
the API, the SPSS export and the stored analyses' answer tables, through the API, the page and
the command; chosen answers and ratings stay."""

from __future__ import annotations

import io

import numpy as np
import pyreadstat
import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from analysis.models import AnalysisRun, RunStatus
from analysis.runs import analyze_now
from surveys import services
from surveys.invitations import add_invitations
from surveys.models import Invitation, Question, Response, Survey

pytestmark = pytest.mark.django_db

ALICE, BOB = "alice@example.com", "bob@example.com"
# What Alice and Bob typed; each names somebody.
ALICE_TOOL = "Dana Whitfield's tracker"
ALICE_TEAM = "Alice Liddell's platform squad"
BOB_TEAM = "Bob Marley's crew"
OTHERS_TOOL = "Kim Osei's notebook"  # typed by the API respondents


@pytest.fixture
def study(workspace, job, owner) -> Survey:
    survey = services.create_survey(workspace=workspace, job=job, title="Tools study")
    survey.ask_current_solution = True
    survey.current_solution_options = ["Spreadsheets", "Jira"]
    survey.save(update_fields=["ask_current_solution", "current_solution_options"])
    Question.objects.create(
        survey=survey, key="role", kind="single", text="Role", options=["Lead", "Member"], order=1
    )
    Question.objects.create(
        survey=survey, key="team_name", kind="text", text="Your team", required=False, order=2
    )
    services.publish_survey(survey=survey, by=owner)
    survey.refresh_from_db()
    add_invitations(survey=survey, people=[("", ALICE), ("", BOB)])
    codes = survey.current_version.outcome_codes
    rng = np.random.default_rng(11)
    url = f"/api/public/surveys/{survey.public_token}/responses/"

    def send(tool: str, team: str | None, **who) -> None:
        low = rng.random() < 0.5  # two groups that differ, so segments are found
        answers = {
            "ratings": {
                c: {
                    "importance": int(rng.integers(3, 6)),
                    "satisfaction": int(rng.integers(1, 3) if low else rng.integers(4, 6)),
                }
                for c in codes
            },
            "profile": {"role": "Lead" if low else "Member", "team_name": team},
            "current_solution": tool,
        }
        if team is None:
            del answers["profile"]["team_name"]
        sent = APIClient().post(url, {**who, "answers": answers}, format="json")
        assert sent.status_code == 201, sent.content

    send(ALICE_TOOL, ALICE_TEAM, invitation=Invitation.objects.get(email=ALICE).token)
    send("Spreadsheets", BOB_TEAM, invitation=Invitation.objects.get(email=BOB).token)
    for i in range(69):
        tool = ["Spreadsheets", "Jira", OTHERS_TOOL][i % 3]
        send(tool, None, idempotency_key=f"crm-{i}")
    run = analyze_now(survey=survey, parameters={"seed": 3, "segments": 2, "n_resamples": 1000})
    assert run.status == RunStatus.SUCCEEDED, run.error
    return survey


def database_text() -> str:
    return "\n".join(
        str(value)
        for model in apps.get_models()
        for row in model.objects.values_list()
        for value in row
        if not isinstance(value, bytes | memoryview)
    )


def shown(survey: Survey, api: APIClient, page: Client, tmp_path) -> str:
    """The responses page and API and a fresh SPSS export of the survey, as one text."""
    sav = api.get(f"/api/surveys/{survey.pk}/exports/?format=sav")
    assert sav.status_code == 200
    path = tmp_path / "respondents.sav"
    path.write_bytes(sav.content)
    frame, _ = pyreadstat.read_sav(str(path))
    return "\n".join(
        [
            page.get(f"/surveys/{survey.pk}/responses/").content.decode(),
            api.get(f"/api/responses/?survey={survey.pk}&page_size=100").content.decode(),
            frame.to_csv(),
        ]
    )


def stored_answers(survey: Survey) -> str:
    run = AnalysisRun.objects.latest_succeeded(survey)
    return repr(run.profile_differences) + repr([s.profile_differences for s in run.segments.all()])


@pytest.fixture
def owner_api(api_as, owner) -> APIClient:
    return api_as(owner)


@pytest.fixture
def owner_page(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def test_the_study_shows_what_was_typed_before_any_erasure(study, owner_api, owner_page, tmp_path):
    everything = shown(study, owner_api, owner_page, tmp_path)
    for typed in (ALICE_TOOL, ALICE_TEAM, BOB_TEAM, OTHERS_TOOL):
        assert typed in database_text()
        assert typed in everything, typed
    assert ALICE_TOOL in stored_answers(study)  # a category of the current solution


def test_erasing_a_respondent_through_the_api_removes_what_they_typed(
    study, owner_api, owner_page, tmp_path
):
    alice = Response.objects.get(respondent_id=ALICE)
    erased = owner_api.post(f"/api/surveys/{study.pk}/erase/", {"respondent": ALICE}, format="json")
    assert erased.status_code == 201, erased.content
    assert (erased.json()["responses"], erased.json()["exports"]) == (1, 0)
    text, everything = database_text(), shown(study, owner_api, owner_page, tmp_path)
    for typed in (ALICE_TOOL, ALICE_TEAM):
        assert typed not in text, typed
        assert typed not in everything, typed
    alice.refresh_from_db()
    assert (alice.profile, alice.current_solution) == ({"role": alice.profile["role"]}, "")
    assert "(erased)" in stored_answers(study) and ALICE_TOOL not in stored_answers(study)
    # Only Alice's: Bob's typed team and everyone's chosen answers stay.
    assert BOB_TEAM in everything and OTHERS_TOOL in everything
    assert Response.objects.filter(current_solution="Spreadsheets").count() == 24


def test_erasing_the_survey_on_the_page_removes_everything_typed(
    study, owner_api, owner_page, tmp_path
):
    chosen = sorted(
        Response.objects.exclude(current_solution__in=[ALICE_TOOL, OTHERS_TOOL]).values_list(
            "pk", "current_solution", "profile__role"
        )
    )
    erased = owner_page.post(
        f"/surveys/{study.pk}/invitations/erase/", {"scope": "survey", "all-confirm": "Tools study"}
    )
    assert erased.status_code == 302
    text, everything = database_text(), shown(study, owner_api, owner_page, tmp_path)
    for typed in (ALICE_TOOL, ALICE_TEAM, BOB_TEAM, OTHERS_TOOL):
        assert typed not in text, typed
        assert typed not in everything, typed
    assert not Response.objects.filter(profile__has_key="team_name").exists()
    assert ALICE_TOOL not in stored_answers(study) and OTHERS_TOOL not in stored_answers(study)
    kept = Response.objects.exclude(current_solution="").values_list(
        "pk", "current_solution", "profile__role"
    )
    assert sorted(kept) == chosen  # chosen answers and roles stay


def test_the_command_removes_what_the_respondent_typed(study):
    out = io.StringIO()
    call_command(
        "erase_personal_data", str(study.pk), "--respondent", ALICE, "--by", "owner", stdout=out
    )
    assert "1 response(s)" in out.getvalue()
    assert ALICE_TOOL not in database_text() and ALICE_TEAM not in database_text()
    assert BOB_TEAM in database_text()
