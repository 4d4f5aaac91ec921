"""The surveys REST API: authoring, publishing, distribution, responses, imports, and the public
JSON submission endpoint, as researchers, viewers and anonymous embedding tools use them."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DataError, connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from jtbd.models import Job
from surveys import ratings, services
from surveys.fastpath import sql
from surveys.models import (
    Invitation,
    Outbox,
    Question,
    Response,
    Survey,
    SurveyVersion,
)
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

LABELS = ["Not at all", "A little", "Somewhat", "Very", "Extremely"]


@pytest.fixture(autouse=True)
def _fresh_throttle():
    # The per-address limit counts in the cache, which outlives a test.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(api_as, researcher):
    return api_as(researcher)


@pytest.fixture
def codes(job) -> list[str]:
    return list(job.outcomes.order_by("order").values_list("code", flat=True))


def create_survey(api, job, **extra) -> dict:
    response = api.post(
        "/api/surveys/", {"job": job.pk, "title": "Adoption", **extra}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def survey(api, job) -> Survey:
    """A published, open survey over the job's three approved outcomes."""
    body = create_survey(api, job)
    assert api.post(f"/api/surveys/{body['id']}/publish/").status_code == 200
    return Survey.objects.get(pk=body["id"])


def public_url(survey: Survey) -> str:
    return f"/api/public/surveys/{survey.public_token}/responses/"


def answers_for(codes: list[str], imp=(5, 4, 2), sat=(1, 3, 5), **extra) -> dict:
    return {
        "ratings": {
            c: {"importance": i, "satisfaction": s} for c, i, s in zip(codes, imp, sat, strict=True)
        },
        **extra,
    }


def submit(body: dict, survey: Survey, client: APIClient | None = None):
    return (client or APIClient()).post(public_url(survey), body, format="json")


def submit_key(survey: Survey, codes: list[str], key: str) -> int:
    """The status of a valid submission under `key`."""
    return submit({"idempotency_key": key, "answers": answers_for(codes)}, survey).status_code


def csv_upload(text: str, name: str = "responses.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# --- surveys: create, read, update, delete -----------------------------------------------------


def test_creating_a_survey_takes_the_jobs_approved_outcomes_and_reports_links_and_counts(
    api, job, codes, workspace
):
    body = create_survey(api, job, title="  Adoption study  ")
    survey = Survey.objects.get(pk=body["id"])
    assert (survey.workspace, survey.job, survey.title, survey.status) == (
        workspace,
        job,
        "Adoption study",
        "draft",
    )
    assert body["outcomes"] == codes
    assert body["public_url"] == f"http://testserver/s/{survey.public_token}/"
    assert body["current_version"] is None
    assert body["counts"] == {
        "started": 0,
        "completed": 0,
        "screened_out": 0,
        "in_progress": 0,
        "flagged": 0,
    }
    listed = api.get("/api/surveys/").json()["results"]
    assert [(s["id"], s["outcomes"]) for s in listed] == [(survey.pk, codes)]


def test_creating_a_survey_over_chosen_codes_keeps_them_and_refuses_unknown_codes(api, job, codes):
    body = create_survey(api, job, outcomes=[codes[2], codes[0]])
    # Within a step, respondents see them in the order given (steps keep the job map's order).
    assert body["outcomes"] == [codes[2], codes[0]]
    before = Survey.objects.count()
    response = api.post(
        "/api/surveys/", {"job": job.pk, "title": "X", "outcomes": ["NOPE1"]}, format="json"
    )
    assert response.status_code == 400
    assert "NOPE1" in str(response.json()["outcomes"])
    assert Survey.objects.count() == before


def test_a_job_of_another_workspace_cannot_carry_a_survey(api, other_workspace):
    foreign = JobFactory(workspace=other_workspace)
    response = api.post("/api/surveys/", {"job": foreign.pk, "title": "X"}, format="json")
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["job"])
    assert Survey.objects.count() == 0


def test_updating_settings_saves_them_and_validates_the_scale_labels(api, job):
    survey_id = create_survey(api, job)["id"]
    response = api.patch(
        f"/api/surveys/{survey_id}/",
        {
            "importance_labels": LABELS,
            "ask_nps": True,
            "nps_subject": "our tool",
            "ask_current_solution": True,
            "current_solution_options": [" Email ", "Email", "", "Wiki"],
            "target_completes": 300,
            "consent_text": "I agree.",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    survey = Survey.objects.get(pk=survey_id)
    assert survey.importance_labels == LABELS
    assert (survey.ask_nps, survey.nps_subject, survey.target_completes) == (True, "our tool", 300)
    assert survey.current_solution_options == ["Email", "Wiki"]
    for bad in (LABELS[:4], [*LABELS[:4], "  "], "one label"):
        response = api.patch(
            f"/api/surveys/{survey_id}/", {"satisfaction_labels": bad}, format="json"
        )
        assert response.status_code == 400, bad
        assert "satisfaction_labels" in response.json()
    survey.refresh_from_db()
    assert len(survey.satisfaction_labels) == 5


def test_setting_outcome_codes_replaces_the_surveys_outcomes(api, job, codes):
    survey_id = create_survey(api, job)["id"]
    response = api.patch(f"/api/surveys/{survey_id}/", {"outcomes": [codes[1]]}, format="json")
    assert response.status_code == 200
    assert response.json()["outcomes"] == [codes[1]]
    assert list(Survey.objects.get(pk=survey_id).outcomes.values_list("code", flat=True)) == [
        codes[1]
    ]
    for bad in ([], ["ZZZ9"]):
        response = api.patch(f"/api/surveys/{survey_id}/", {"outcomes": bad}, format="json")
        assert response.status_code == 400
    assert Survey.objects.get(pk=survey_id).outcomes.count() == 1


def test_a_survey_cannot_move_to_another_job(api, job, workspace):
    survey_id = create_survey(api, job)["id"]
    other = JobFactory(workspace=workspace)
    response = api.patch(f"/api/surveys/{survey_id}/", {"job": other.pk}, format="json")
    assert response.status_code == 400
    assert Survey.objects.get(pk=survey_id).job == job


def test_deleting_a_survey_without_responses_removes_it(api, job):
    survey_id = create_survey(api, job)["id"]
    assert api.delete(f"/api/surveys/{survey_id}/").status_code == 204
    assert not Survey.objects.filter(pk=survey_id).exists()


def test_deleting_a_survey_with_responses_is_refused_and_loses_nothing(api, survey, codes):
    assert (
        submit({"idempotency_key": "k1", "answers": answers_for(codes)}, survey).status_code == 201
    )
    response = api.delete(f"/api/surveys/{survey.pk}/")
    assert response.status_code == 409
    assert "responses" in response.json()["detail"]
    assert Survey.objects.filter(pk=survey.pk).exists()
    assert Response.objects.filter(survey=survey).count() == 1


# --- publishing, versions, closing ------------------------------------------------------------


def test_publishing_creates_version_1_and_an_unchanged_republish_keeps_it(api, job):
    survey_id = create_survey(api, job)["id"]
    first = api.post(f"/api/surveys/{survey_id}/publish/")
    assert first.status_code == 200
    assert first.json()["number"] == 1 and first.json()["new_version"] is True
    assert first.json()["status"] == "open"
    again = api.post(f"/api/surveys/{survey_id}/publish/")
    assert again.json() == {**first.json(), "new_version": False}
    assert SurveyVersion.objects.filter(survey_id=survey_id).count() == 1
    detail = api.get(f"/api/surveys/{survey_id}/").json()
    assert detail["current_version"] == {"number": 1, "content_hash": first.json()["content_hash"]}


def test_a_change_after_publishing_makes_version_2_and_versions_lists_both(api, job):
    survey_id = create_survey(api, job)["id"]
    api.post(f"/api/surveys/{survey_id}/publish/")
    api.patch(f"/api/surveys/{survey_id}/", {"welcome_text": "Hello there"}, format="json")
    second = api.post(f"/api/surveys/{survey_id}/publish/").json()
    assert second["number"] == 2 and second["new_version"] is True
    versions = api.get(f"/api/surveys/{survey_id}/versions/").json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["content"]["welcome_text"] == "Hello there"
    assert versions[0]["content"]["welcome_text"] != "Hello there"
    assert versions[1]["published_by"] == "researcher"


def test_the_schema_describes_versions_and_erasures_as_the_plain_lists_they_are(api, survey):
    schema = api.get("/api/schema/?format=json").json()
    for action in ("versions", "erasures"):
        operation = schema["paths"][f"/api/surveys/{{id}}/{action}/"]["get"]
        body = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array", (action, body)
        assert not {"limit", "offset"} & {p["name"] for p in operation.get("parameters", [])}
        assert isinstance(api.get(f"/api/surveys/{survey.pk}/{action}/").json(), list)


def test_publishing_a_survey_without_outcomes_is_400(api, workspace):
    empty_job = JobFactory(workspace=workspace)
    survey_id = create_survey(api, empty_job)["id"]
    response = api.post(f"/api/surveys/{survey_id}/publish/")
    assert response.status_code == 400
    assert "outcome" in str(response.json())
    assert not SurveyVersion.objects.filter(survey_id=survey_id).exists()


def test_a_closed_survey_refuses_public_submissions_with_410_until_reopened(api, survey, codes):
    closed = api.post(f"/api/surveys/{survey.pk}/close/")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    response = submit({"idempotency_key": "late", "answers": answers_for(codes)}, survey)
    assert response.status_code == 410
    assert not Response.objects.exists()
    reopened = api.post(f"/api/surveys/{survey.pk}/reopen/")
    assert reopened.json()["status"] == "open"
    assert submit(
        {"idempotency_key": "late", "answers": answers_for(codes)}, survey
    ).status_code == (201)


def test_reopening_a_never_published_survey_is_400(api, job):
    survey_id = create_survey(api, job)["id"]
    assert api.post(f"/api/surveys/{survey_id}/reopen/").status_code == 400
    assert Survey.objects.get(pk=survey_id).status == "draft"


def test_fieldwork_counts_what_has_come_in(api, survey, codes):
    submit({"idempotency_key": "a", "answers": answers_for(codes)}, survey)
    submit(
        {"idempotency_key": "b", "answers": answers_for(codes, imp=(3, 3, 3), sat=(3, 3, 3))},
        survey,
    )
    stats = api.get(f"/api/surveys/{survey.pk}/fieldwork/").json()
    # The second answered 3 everywhere: a straight-liner.
    assert (stats["started"], stats["completed"], stats["flagged"]) == (2, 2, 1)
    assert stats["accepting"] is True
    assert [p["page"] for p in stats["dropoff"]] == [1, 2]


# --- questions --------------------------------------------------------------------------------


def test_a_question_gets_its_key_from_the_text_and_the_next_order(api, survey):
    first = api.post(
        "/api/questions/",
        {"survey": survey.pk, "kind": "text", "text": "Your team's name?"},
        format="json",
    )
    assert first.status_code == 201, first.content
    assert (first.json()["key"], first.json()["order"], first.json()["options"]) == (
        "your_teams_name",
        1,
        [],
    )
    second = api.post(
        "/api/questions/",
        {
            "survey": survey.pk,
            "key": "role",
            "kind": "single",
            "text": "Your role",
            "options": ["Lead", "Member", "Lead"],
        },
        format="json",
    )
    assert second.json()["order"] == 2 and second.json()["options"] == ["Lead", "Member"]
    listed = api.get(f"/api/questions/?survey={survey.pk}").json()["results"]
    assert [q["key"] for q in listed] == ["your_teams_name", "role"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "single", "options": ["Only one"]}, "options"),
        ({"kind": "multiple", "options": []}, "options"),
        (
            {"kind": "single", "options": ["A", "B"], "screener": True, "disqualifying": ["C"]},
            "disqualifying",
        ),
        ({"kind": "single", "options": ["A", "B"], "disqualifying": ["A"]}, "screener"),
        ({"kind": "number", "minimum": 10, "maximum": 1}, "maximum"),
        ({"kind": "text", "key": "role"}, "key"),
        ({"kind": "riddle"}, "kind"),
    ],
)
def test_question_rules_of_the_form_apply_and_nothing_is_saved(api, survey, body, field):
    Question.objects.create(survey=survey, key="role", kind="text", text="Role")
    response = api.post(
        "/api/questions/", {"survey": survey.pk, "text": "Something", **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert survey.questions.count() == 1


def test_updating_a_question_keeps_the_rules_and_its_survey(api, survey, job, workspace):
    created = api.post(
        "/api/questions/",
        {"survey": survey.pk, "kind": "single", "text": "Role", "options": ["A", "B"]},
        format="json",
    ).json()
    url = f"/api/questions/{created['id']}/"
    ok = api.patch(url, {"screener": True, "disqualifying": ["B"]}, format="json")
    assert ok.status_code == 200, ok.content
    assert Question.objects.get(pk=created["id"]).disqualifying == ["B"]
    assert api.patch(url, {"options": ["A", "C"]}, format="json").status_code == 400
    other = Survey.objects.create(workspace=workspace, job=job, title="Other")
    assert api.patch(url, {"survey": other.pk}, format="json").status_code == 400
    assert Question.objects.get(pk=created["id"]).survey == survey
    assert api.delete(url).status_code == 204
    assert not survey.questions.exists()


# --- invitations ------------------------------------------------------------------------------


def test_inviting_people_in_bulk_skips_those_already_invited_and_lists_their_links(api, survey):
    url = f"/api/surveys/{survey.pk}/invitations/"
    first = api.post(url, {"people": ["p-1", "Ann@Example.com", "p-1"]}, format="json")
    assert first.status_code == 201
    assert first.json() == {"created": 2, "skipped": 0}
    again = api.post(url, {"people": ["p-1", "ann@example.com", "p-2"]}, format="json")
    assert again.json() == {"created": 1, "skipped": 2}
    rows = api.get(f"/api/invitations/?survey={survey.pk}").json()["results"]
    by_id = {(r["external_id"], r["email"]): r for r in rows}
    assert set(by_id) == {("p-1", ""), ("", "ann@example.com"), ("p-2", "")}
    invitation = Invitation.objects.get(survey=survey, external_id="p-1")
    assert by_id[("p-1", "")]["link"] == f"http://testserver/i/{invitation.token}/"
    assert {r["status"] for r in rows} == {"not started"}


def test_inviting_with_a_bad_address_invites_nobody_and_says_why(api, survey):
    url = f"/api/surveys/{survey.pk}/invitations/"
    response = api.post(url, {"people": ["p-1", "not@an@address"]}, format="json")
    assert response.status_code == 400
    assert "not@an@address" in response.json()["problems"][0]
    for bad in ({"people": []}, {"people": ["a,b"]}, {}):
        assert api.post(url, bad, format="json").status_code == 400
    assert not Invitation.objects.exists()


def test_the_invitation_csv_has_every_link_and_its_status(api, survey, codes):
    api.post(f"/api/surveys/{survey.pk}/invitations/", {"people": ["p-1", "p-2"]}, format="json")
    done = Invitation.objects.get(external_id="p-1")
    submit({"invitation": done.token, "answers": answers_for(codes)}, survey)
    response = api.get(f"/api/surveys/{survey.pk}/invitations-csv/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["external_id", "email", "link", "status"]
    assert rows[1] == ["p-1", "", f"http://testserver/i/{done.token}/", "completed"]
    assert rows[2][0] == "p-2" and rows[2][3] == "not started"


# --- responses --------------------------------------------------------------------------------


def test_responses_show_their_ratings_decoded_by_code_and_filter(api, survey, codes):
    submit({"idempotency_key": "good", "answers": answers_for(codes)}, survey)
    submit(
        {"idempotency_key": "flat", "answers": answers_for(codes, imp=(3, 3, 3), sat=(3, 3, 3))},
        survey,
    )
    rows = api.get(f"/api/responses/?survey={survey.pk}").json()["results"]
    assert [r["respondent_id"] for r in rows] == ["api-good", "api-flat"]
    good = rows[0]
    assert good["ratings"] == {
        codes[0]: {"importance": 5, "satisfaction": 1},
        codes[1]: {"importance": 4, "satisfaction": 3},
        codes[2]: {"importance": 2, "satisfaction": 5},
    }
    assert (good["status"], good["source"], good["version"], good["included"]) == (
        "completed",
        "api",
        1,
        True,
    )
    assert good["duration_seconds"] is None
    flagged = api.get(f"/api/responses/?survey={survey.pk}&flagged=1").json()["results"]
    assert [(r["respondent_id"], r["flags"], r["included"]) for r in flagged] == [
        ("api-flat", ["straight_liner"], False)
    ]
    assert api.get("/api/responses/?status=screened_out").json()["results"] == []


def test_a_researcher_decides_by_hand_whether_a_response_is_analysed(api, survey, codes):
    submit(
        {"idempotency_key": "flat", "answers": answers_for(codes, imp=(3, 3, 3), sat=(3, 3, 3))},
        survey,
    )
    response = Response.objects.get()
    url = f"/api/responses/{response.pk}/inclusion/"
    assert api.post(url, {"include": True}, format="json").json()["included"] is True
    response.refresh_from_db()
    assert response.include_override is True
    assert api.post(url, {"include": None}, format="json").json()["included"] is False
    response.refresh_from_db()
    assert response.include_override is None
    assert api.post(url, {}, format="json").status_code == 400


# --- imports ----------------------------------------------------------------------------------


def test_importing_responses_through_the_api_stores_them(api, survey, codes):
    header = ",".join(
        ["respondent_id", "email"] + [f"imp_{c}" for c in codes] + [f"sat_{c}" for c in codes]
    )
    body = header + "\nr1,a@x.org,5,4,3,1,2,3\nr2,b@x.org,,4,3,1,2,\n"
    response = api.post(
        f"/api/surveys/{survey.pk}/import-responses/",
        {"file": csv_upload(body)},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json() == {
        "survey": survey.pk,
        "responses": 2,
        "codes": codes,
        "ignored_columns": ["email"],
    }
    r2 = Response.objects.get(survey=survey, respondent_id="r2")
    assert ratings.decode_answers(r2.ratings, codes) == {
        codes[0]: (None, 1),
        codes[1]: (4, 2),
        codes[2]: (3, None),
    }


def test_a_refused_response_file_lists_its_problems_and_stores_nothing(api, survey, codes):
    header = ",".join(["id"] + [f"Imp-{c}" for c in codes] + [f"Sat-{c}" for c in codes])
    rows = "".join(f"\nr{i},9,4,3,1,2,x" for i in range(30))
    before = Response.objects.count()
    response = api.post(
        f"/api/surveys/{survey.pk}/import-responses/",
        {
            "file": csv_upload(header + rows),
            "id_column": "id",
            "importance_pattern": "Imp-{code}",
            "satisfaction_pattern": "Sat-{code}",
        },
        format="multipart",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["total"] == 60
    assert len(body["problems"]) == 50
    assert body["problems"][0] == {
        "row": 2,
        "column": f"Imp-{codes[0]}",
        "value": "9",
        "message": "must be 1–5, blank, 98 (not applicable) or 99 (not shown by design)",
    }
    assert Response.objects.count() == before


def test_importing_a_study_creates_job_survey_and_responses(api, workspace):
    text = (
        "respondent_id,team,imp_A1,imp_A2,sat_A1,sat_A2,when\n"
        "r1,Ops,5,4,1,2,today\n"
        "r2,Dev,3,,4,5,now\n"
    )
    jobs_before = Job.objects.count()
    response = api.post(
        "/api/surveys/import-study/",
        {
            "file": csv_upload(text),
            "name": "Imported study",
            "workspace": workspace.pk,
            "profile_columns": "team",
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["responses"], body["codes"], body["ignored_columns"]) == (
        2,
        ["A1", "A2"],
        ["when"],
    )
    survey = Survey.objects.get(pk=body["survey"])
    assert (survey.workspace, survey.title, survey.status) == (
        workspace,
        "Imported study",
        "closed",
    )
    assert Job.objects.count() == jobs_before + 1
    assert survey.responses.get(respondent_id="r2").profile == {"team": "Dev"}


def test_a_refused_study_file_creates_nothing(api, workspace):
    before = (Job.objects.count(), Survey.objects.count(), Response.objects.count())
    response = api.post(
        "/api/surveys/import-study/",
        {
            "file": csv_upload("respondent_id,imp_A1\nr1,5\n"),
            "name": "Broken",
            "workspace": workspace.pk,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["problems"][0]["message"] == "no matching satisfaction column"
    assert (Job.objects.count(), Survey.objects.count(), Response.objects.count()) == before


def test_a_study_cannot_be_imported_into_another_workspace(api, other_workspace):
    response = api.post(
        "/api/surveys/import-study/",
        {
            "file": csv_upload("respondent_id,imp_A1,sat_A1\nr1,5,4\n"),
            "name": "Sneaky",
            "workspace": other_workspace.pk,
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert "does not exist" in str(response.json()["workspace"])
    assert not Survey.objects.exists()


# --- viewers ----------------------------------------------------------------------------------


def _state() -> tuple:
    return (
        list(Survey.objects.order_by("pk").values_list("pk", "title", "status", "current_version")),
        list(SurveyVersion.objects.values_list("pk", "number")),
        list(Question.objects.order_by("pk").values_list("pk", "key", "text", "options")),
        list(Invitation.objects.order_by("pk").values_list("pk", "external_id")),
        list(Response.objects.order_by("pk").values_list("pk", "include_override")),
        Job.objects.count(),
    )


def test_a_viewer_reads_everything_but_gets_403_from_every_write_and_nothing_changes(
    viewer, survey, codes, workspace, job
):
    submit({"idempotency_key": "k", "answers": answers_for(codes)}, survey)
    question = Question.objects.create(survey=survey, key="role", kind="text", text="Role")
    Invitation.objects.create(survey=survey, external_id="p-1")
    response = Response.objects.get()
    api = APIClient()
    api.force_authenticate(viewer)
    before = _state()
    s = f"/api/surveys/{survey.pk}"
    reads = [
        f"{s}/",
        "/api/surveys/",
        f"{s}/fieldwork/",
        f"{s}/versions/",
        f"/api/questions/{question.pk}/",
        f"/api/responses/{response.pk}/",
    ]
    for url in reads:
        assert api.get(url).status_code == 200, url
    # Personal links are for owners and researchers (tests/surveys/test_personal_links.py).
    for url in (f"{s}/invitations-csv/", f"/api/invitations/?survey={survey.pk}"):
        assert api.get(url).status_code == 403, url
    csv_file = ",".join(
        ["respondent_id"] + [f"imp_{c}" for c in codes] + [f"sat_{c}" for c in codes]
    )
    writes = [
        ("post", "/api/surveys/", {"job": job.pk, "title": "Mine"}, "json"),
        ("patch", f"{s}/", {"title": "Renamed"}, "json"),
        ("put", f"{s}/", {"job": job.pk, "title": "Renamed"}, "json"),
        ("delete", f"{s}/", None, "json"),
        ("post", f"{s}/publish/", None, "json"),
        ("post", f"{s}/close/", None, "json"),
        ("post", f"{s}/reopen/", None, "json"),
        ("post", f"{s}/invitations/", {"people": ["p-9"]}, "json"),
        (
            "post",
            f"{s}/import-responses/",
            {"file": csv_upload(csv_file + "\nz1,1,2,3,4,5,1\n")},
            "multipart",
        ),
        (
            "post",
            "/api/surveys/import-study/",
            {
                "file": csv_upload("respondent_id,imp_A1,sat_A1\nr1,5,4\n"),
                "name": "S",
                "workspace": workspace.pk,
            },
            "multipart",
        ),
        ("post", "/api/questions/", {"survey": survey.pk, "kind": "text", "text": "Q"}, "json"),
        ("patch", f"/api/questions/{question.pk}/", {"text": "Changed"}, "json"),
        ("delete", f"/api/questions/{question.pk}/", None, "json"),
        ("post", f"/api/responses/{response.pk}/inclusion/", {"include": False}, "json"),
    ]
    for method, url, body, fmt in writes:
        result = getattr(api, method)(url, body, format=fmt)
        assert result.status_code == 403, (method, url, result.content[:200])
    assert _state() == before


# --- public submission ------------------------------------------------------------------------


def test_a_valid_submission_is_stored_with_exactly_its_ratings(survey, codes):
    response = submit({"idempotency_key": "abc-1", "answers": answers_for(codes)}, survey)
    assert response.status_code == 201, response.content
    stored = Response.objects.get()
    assert response.json() == {"id": stored.pk, "status": "completed", "respondent_id": "api-abc-1"}
    assert ratings.decode_answers(stored.ratings, codes) == {
        codes[0]: (5, 1),
        codes[1]: (4, 3),
        codes[2]: (2, 5),
    }
    assert (stored.source, stored.idempotency_key, stored.flags) == ("api", "abc-1", [])
    assert stored.version == survey.current_version
    assert stored.completed_at is not None and stored.duration_seconds is None
    assert Outbox.objects.filter(survey=survey, kind="response_completed").count() == 1


def test_missing_or_bad_ratings_are_each_listed_and_nothing_is_stored(survey, codes):
    answers = {
        "ratings": {codes[0]: {"importance": 6, "satisfaction": 2}, codes[1]: {"importance": 3}}
    }
    response = submit({"idempotency_key": "k", "answers": answers}, survey)
    assert response.status_code == 400
    fields = [p["field"] for p in response.json()["problems"]]
    assert fields == [
        f"imp-{codes[0]}",
        f"sat-{codes[1]}",
        f"imp-{codes[2]}",
        f"sat-{codes[2]}",
    ]
    assert not Response.objects.exists()
    assert not Outbox.objects.exists()


def test_ratings_of_outcomes_the_survey_does_not_ask_are_refused(survey, codes):
    answers = answers_for(codes)
    answers["ratings"]["ZZZ"] = {"importance": 1, "satisfaction": 1}
    response = submit({"idempotency_key": "k", "answers": answers}, survey)
    assert response.status_code == 400
    assert [p["field"] for p in response.json()["problems"]] == ["ratings.ZZZ"]
    assert not Response.objects.exists()


def test_the_same_idempotency_key_twice_stores_one_response(survey, codes):
    body = {"idempotency_key": "retry-me", "answers": answers_for(codes)}
    first = submit(body, survey)
    second = submit({**body, "answers": answers_for(codes, imp=(1, 1, 1))}, survey)
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert Response.objects.count() == 1
    assert Outbox.objects.count() == 1


def test_an_invitation_answers_once_under_its_external_id(api, survey, codes):
    api.post(f"/api/surveys/{survey.pk}/invitations/", {"people": ["cust-7"]}, format="json")
    token = Invitation.objects.get().token
    first = submit({"invitation": token, "answers": answers_for(codes)}, survey)
    second = submit(
        {"invitation": token, "idempotency_key": "x", "answers": answers_for(codes)}, survey
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["respondent_id"] == "cust-7"
    assert second.json()["id"] == first.json()["id"]
    assert Response.objects.count() == 1


def test_an_invitation_to_another_survey_or_no_key_at_all_is_400(api, survey, job, codes):
    other = Survey.objects.create(workspace=survey.workspace, job=job, title="Other")
    foreign = Invitation.objects.create(survey=other, external_id="p")
    bad = submit({"invitation": foreign.token, "answers": answers_for(codes)}, survey)
    assert bad.status_code == 400
    assert bad.json()["problems"][0]["field"] == "invitation"
    keyless = submit({"answers": answers_for(codes)}, survey)
    assert keyless.status_code == 400
    assert keyless.json()["problems"][0]["field"] == "idempotency_key"
    assert not Response.objects.exists()


def test_an_unknown_or_unpublished_survey_is_404(api, job, codes):
    draft = Survey.objects.get(pk=create_survey(api, job)["id"])
    body = {"idempotency_key": "k", "answers": answers_for(codes)}
    assert APIClient().post(public_url(draft), body, format="json").status_code == 404
    assert (
        APIClient().post("/api/public/surveys/no-such-token/responses/", body, format="json")
    ).status_code == 404
    assert not Response.objects.exists()


def test_the_survey_rules_for_profile_loyalty_consent_and_attention_apply(api, survey, codes):
    api.patch(
        f"/api/surveys/{survey.pk}/",
        {
            "consent_text": "I agree.",
            "ask_nps": True,
            "ask_ces": True,
            "attention_check": True,
            "ask_current_solution": True,
            "current_solution_options": ["Email", "Wiki"],
        },
        format="json",
    )
    api.post(
        "/api/questions/",
        {
            "survey": survey.pk,
            "key": "tools",
            "kind": "multiple",
            "text": "Tools",
            "options": ["A", "B"],
        },
        format="json",
    )
    api.post(
        "/api/questions/",
        {"survey": survey.pk, "key": "size", "kind": "number", "text": "Size", "minimum": 1},
        format="json",
    )
    assert api.post(f"/api/surveys/{survey.pk}/publish/").json()["number"] == 2
    bad = submit(
        {
            "idempotency_key": "k",
            "answers": answers_for(codes, profile={"tools": ["C"], "size": 0}, nps=11, ces=0),
        },
        survey,
    )
    assert bad.status_code == 400
    fields = {p["field"] for p in bad.json()["problems"]}
    assert fields == {"consent", "q-tools", "q-size", "current_solution", "attention", "nps", "ces"}
    good = submit(
        {
            "idempotency_key": "k",
            "answers": answers_for(
                codes,
                consent=True,
                profile={"tools": ["A", "B"], "size": 12},
                current_solution="Sticky notes",
                nps=9,
                ces=2,
                attention=3,
            ),
        },
        survey,
    )
    assert good.status_code == 201, good.content
    stored = Response.objects.get()
    assert stored.profile == {"tools": ["A", "B"], "size": 12}
    assert (stored.current_solution, stored.nps, stored.ces) == ("Sticky notes", 9, 2)
    assert stored.attention_passed is False and stored.flags == ["attention"]
    assert stored.version.number == 2


def test_a_disqualifying_screener_answer_stores_a_screened_out_response(api, survey, codes):
    api.post(
        "/api/questions/",
        {
            "survey": survey.pk,
            "key": "uses",
            "kind": "single",
            "text": "Do you use tools?",
            "options": ["Yes", "No"],
            "screener": True,
            "disqualifying": ["No"],
        },
        format="json",
    )
    api.post(f"/api/surveys/{survey.pk}/publish/")
    response = submit({"idempotency_key": "s", "answers": {"profile": {"uses": "No"}}}, survey)
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "screened_out"
    stored = Response.objects.get()
    assert (stored.status, stored.profile) == ("screened_out", {"uses": "No"})
    assert not Outbox.objects.exists()


def test_public_submission_needs_no_login_or_csrf_token(survey, codes, researcher):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(researcher)
    response = submit({"idempotency_key": "k", "answers": answers_for(codes)}, survey, client)
    assert response.status_code == 201


def test_public_submissions_are_throttled_per_address(survey, codes, settings):
    # The per-address limit of the public endpoints (config.security.PublicRateLimitMiddleware).
    settings.RATE_LIMIT_PUBLIC = 2
    replies = [
        submit({"idempotency_key": f"k{i}", "answers": answers_for(codes)}, survey)
        for i in range(3)
    ]
    assert [r.status_code for r in replies] == [201, 201, 429]
    assert set(replies[2].json()) == {"detail"} and replies[2]["Retry-After"].isdigit()
    assert Response.objects.count() == 2


def test_an_invitation_already_started_on_the_web_is_not_answered_again_by_api(
    api, survey, codes, client
):
    api.post(f"/api/surveys/{survey.pk}/invitations/", {"people": ["cust-1"]}, format="json")
    token = Invitation.objects.get().token
    assert client.post(f"/i/{token}/", {"page": "0"}).status_code == 302
    response = submit({"invitation": token, "answers": answers_for(codes)}, survey)
    assert response.status_code == 409
    assert Response.objects.get().status == "in_progress"


# --- regressions ---------------------------------------------------------------------------------


def test_an_invitation_whose_id_was_imported_already_does_not_crash_the_web_survey(
    api, survey, codes, client
):
    header = ",".join(["respondent_id"] + [f"imp_{c}" for c in codes] + [f"sat_{c}" for c in codes])
    api.post(
        f"/api/surveys/{survey.pk}/import-responses/",
        {"file": csv_upload(header + "\ncust-1,1,2,3,4,5,1\n")},
        format="multipart",
    )
    api.post(f"/api/surveys/{survey.pk}/invitations/", {"people": ["cust-1"]}, format="json")
    token = Invitation.objects.get().token
    imported = Response.objects.get()
    response = client.post(f"/i/{token}/", {"page": "0"})
    # The person's answers came in the file: the link says so and starts no second response.
    assert response.status_code == 200
    assert "You have already completed this survey" in response.content.decode()
    assert list(Response.objects.values_list("pk", "respondent_id", "source")) == [
        (imported.pk, "cust-1", "import")
    ]


def test_listing_surveys_and_responses_costs_the_same_queries_for_many_rows(
    api, survey, job, codes, django_assert_max_num_queries
):
    for i in range(3):
        create_survey(api, job, title=f"Extra {i}")
    for i in range(12):
        submit({"idempotency_key": f"n{i}", "answers": answers_for(codes)}, survey)
    # Session/auth, count, rows, prefetched outcomes; one version load for all responses.
    with django_assert_max_num_queries(6):
        assert len(api.get("/api/surveys/").json()["results"]) == 4
    with django_assert_max_num_queries(6):
        assert len(api.get(f"/api/responses/?survey={survey.pk}").json()["results"]) == 12


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"idempotency_key": "k", "answers": "all fives"}, "answers"),
        ({"idempotency_key": "k", "answers": {"ratings": ["O001"]}}, "ratings"),
        (
            {"idempotency_key": "k", "answers": {"ratings": {}, "profile": {"nope": 1}}},
            "profile.nope",
        ),
        ({"idempotency_key": "k"}, "answers"),
        (["not", "an", "object"], "body"),
    ],
)
def test_a_malformed_submission_names_the_field_and_stores_nothing(survey, body, field):
    response = submit(body, survey)
    assert response.status_code == 400
    assert field in [p["field"] for p in response.json()["problems"]], response.json()
    assert not Response.objects.exists()


# --- the survey a public link names, kept between submissions (surveys/versions.py) ----------


def test_a_survey_closed_after_submissions_began_refuses_the_next_with_410(api, survey, codes):
    assert (
        submit({"idempotency_key": "a", "answers": answers_for(codes)}, survey).status_code == 201
    )
    # This process keeps the open survey it just read; closing it must still count at once.
    assert api.post(f"/api/surveys/{survey.pk}/close/").status_code == 200
    late = submit({"idempotency_key": "b", "answers": answers_for(codes)}, survey)
    assert late.status_code == 410 and late.json() == {"detail": "This survey is closed."}
    assert Response.objects.count() == 1 and Outbox.objects.count() == 1
    # A repeat of the first submission still learns what became of it.
    assert (
        submit({"idempotency_key": "a", "answers": answers_for(codes)}, survey).status_code == 200
    )
    assert api.post(f"/api/surveys/{survey.pk}/reopen/").status_code == 200
    assert (
        submit({"idempotency_key": "b", "answers": answers_for(codes)}, survey).status_code == 201
    )


def test_a_survey_republished_after_submissions_began_takes_answers_for_its_new_version(
    api, survey, codes
):
    first = submit({"idempotency_key": "a", "answers": answers_for(codes)}, survey)
    assert first.status_code == 201
    changed = api.patch(f"/api/surveys/{survey.pk}/", {"outcomes": codes[:2]}, format="json")
    assert changed.status_code == 200, changed.content
    assert api.post(f"/api/surveys/{survey.pk}/publish/").json()["number"] == 2
    # The first answer after republishing already fits the new version, and is judged by it.
    new = submit(
        {"idempotency_key": "c", "answers": answers_for(codes[:2], imp=(5, 4), sat=(1, 3))},
        survey,
    )
    assert new.status_code == 201, new.content
    survey.refresh_from_db()
    stored = Response.objects.get(pk=new.json()["id"])
    assert stored.version == survey.current_version and stored.version.number == 2
    assert ratings.decode_answers(stored.ratings, codes[:2]) == {
        codes[0]: (5, 1),
        codes[1]: (4, 3),
    }
    # Every answer for version 1 is now one outcome too many.
    old = submit({"idempotency_key": "b", "answers": answers_for(codes)}, survey)
    assert old.status_code == 400
    assert [p["field"] for p in old.json()["problems"]] == [f"ratings.{codes[2]}"]


def test_refusals_are_given_on_the_survey_as_it_is_now(api, survey, codes):
    assert submit_key(survey, codes, "a") == 201
    assert api.post(f"/api/surveys/{survey.pk}/close/").status_code == 200
    # Closed: answers the open survey would refuse get the 410 all late answers get.
    bad = submit({"idempotency_key": "b", "answers": {"ratings": {}}}, survey)
    assert bad.status_code == 410


def test_a_survey_with_a_close_date_takes_answers_until_then(api, survey, codes):
    survey.closes_at = timezone.now() + timezone.timedelta(days=2)
    survey.save(update_fields=["closes_at"])
    assert submit_key(survey, codes, "a") == 201
    assert submit_key(survey, codes, "b") == 201
    survey.closes_at = timezone.now() - timezone.timedelta(seconds=1)
    survey.save(update_fields=["closes_at"])
    late = submit({"idempotency_key": "c", "answers": answers_for(codes)}, survey)
    assert late.status_code == 410
    assert Response.objects.count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"idempotency_key": "b", "answers": answers_for(["O001", "O002", "O003"])},
        {"idempotency_key": "b"},  # malformed
        {"invitation": "some-token", "answers": {"ratings": {}}},  # an unknown invitation
    ],
)
def test_a_deleted_survey_answers_404_to_a_link_read_before(api, survey, codes, body):
    assert submit_key(survey, codes, "a") == 201
    Response.objects.all().delete()  # a survey with responses is not deleted
    assert api.delete(f"/api/surveys/{survey.pk}/").status_code == 204
    gone = submit(body, survey)
    assert gone.status_code == 404
    assert gone.json() == {"detail": "No published survey has this link."}
    assert not Response.objects.exists()


def unsaved_response(survey: Survey, key: str, now, **fields) -> Response:
    """A completed API response to `survey`, not stored yet."""
    return Response(
        survey=survey,
        version=survey.current_version,
        idempotency_key=key,
        respondent_id=f"api-{key}",
        source="api",
        status="completed",
        ratings=ratings.encode([5, 4, 2], [1, 3, 5]),
        started_at=now,
        page_started_at=now,
        completed_at=now,
        **fields,
    )


def test_a_response_is_stored_only_while_its_survey_accepts_answers(survey, codes):
    def response(key: str) -> Response:
        return unsaved_response(survey, key, now)

    now = timezone.now()
    kept = response("kept")
    assert services.insert_completed(response=kept, accepting_at=now) is True
    assert kept.pk is not None and not kept._state.adding
    assert Response.objects.get(pk=kept.pk).idempotency_key == "kept"
    survey.close()
    assert services.insert_completed(response=response("late"), accepting_at=now) is False
    assert Response.objects.insert(response("late"), accepting_at=now) is False
    survey.reopen()
    survey.closes_at = now
    survey.save(update_fields=["closes_at"])
    assert Response.objects.insert(response("late"), accepting_at=now) is False
    assert list(Response.objects.values_list("idempotency_key", flat=True)) == ["kept"]
    assert Outbox.objects.count() == 1  # the refused inserts requested nothing


def test_the_hand_written_insert_stores_what_save_stores(survey, codes):
    now = timezone.now()

    def response(key: str) -> Response:
        return unsaved_response(
            survey,
            key,
            now,
            page=5,
            profile={"role": "Team lead", "size": 12, "tools": ["a", "b"]},
            current_solution="Spreadsheets",
            nps=9,
            ces=3,
            attention_passed=True,
            flags=["straight-liner"],
        )

    inserted = response("by-sql")
    assert Response.objects.insert(inserted, accepting_at=now) is True
    saved = response("by-orm")
    saved.save()
    a, b = Response.objects.get(pk=inserted.pk), Response.objects.get(pk=saved.pk)
    values = {f.attname: getattr(a, f.attname) for f in Response._meta.concrete_fields}
    assert values == {
        **{f.attname: getattr(b, f.attname) for f in Response._meta.concrete_fields},
        "id": a.pk,
        "idempotency_key": "by-sql",
        "respondent_id": "api-by-sql",
    }
    assert (bytes(a.ratings), a.profile, a.flags, a.nps, a.attention_passed) == (
        bytes([5, 4, 2, 1, 3, 5]),
        {"role": "Team lead", "size": 12, "tools": ["a", "b"]},
        ["straight-liner"],
        9,
        True,
    )
    assert a.completed_at == now


on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's prepared statements and lengths"
)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_the_submission_statement_is_prepared_once_per_connection(api, job, survey, codes):
    connection.close()  # a new session: nothing prepared yet
    with connection.cursor() as cursor:  # ids past 32767, which psycopg would type otherwise
        for table in ("surveys_survey", "surveys_surveyversion"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 70000)")
    large = Survey.objects.get(pk=create_survey(api, job)["id"])
    assert api.post(f"/api/surveys/{large.pk}/publish/").status_code == 200
    large.refresh_from_db()
    assert large.pk > 70000 and large.current_version_id > 70000
    for target, key in ((survey, "first"), (large, "second"), (survey, "third")):
        body = {"idempotency_key": key, "answers": answers_for(codes)}
        assert submit(body, target).status_code == 201
    # Responses with other values NULL and set run the same statement.
    now = timezone.now()
    shapes = [
        {"nps": 9, "ces": None, "attention_passed": True, "page": 40000},
        {"nps": None, "ces": 3, "attention_passed": None, "duration_seconds": 81.5},
        {"nps": 0, "ces": 0, "attention_passed": False, "profile": {"role": "Buyer"}},
    ]
    for i, fields in enumerate(shapes):
        response = unsaved_response(large if i == 1 else survey, f"shape-{i}", now, **fields)
        assert services.insert_completed(response=response, accepting_at=now) is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, custom_plans, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    # One statement, prepared on the first submission, ran all six; it is the session's only
    # one (Django binds its own queries on the client and never prepares them). After its
    # first runs PostgreSQL stopped planning it and reused one plan.
    assert len(prepared) == 1, prepared
    statement, custom_plans, generic_plans = prepared[0]
    assert statement.startswith("WITH inserted AS (INSERT INTO")
    assert custom_plans + generic_plans == 6 and generic_plans >= 1, prepared
    stored = Response.objects.filter(idempotency_key__startswith="shape-").order_by("id")
    assert [(r.survey_id, r.nps, r.ces, r.attention_passed) for r in stored] == [
        (survey.pk, 9, None, True),
        (large.pk, None, 3, None),
        (survey.pk, 0, 0, False),
    ]
    assert (stored[0].page, stored[1].duration_seconds, stored[2].profile) == (
        40000,
        81.5,
        {"role": "Buyer"},
    )


@on_postgresql
def test_the_ratings_bytes_are_stored_as_sent_whatever_the_string_settings(survey, codes):
    # bytea goes as its hex input form: escaped for a literal it would double the backslash
    # when standard_conforming_strings is off, storing the characters instead of the bytes.
    with connection.cursor() as cursor:
        cursor.execute("SET standard_conforming_strings = off")
    try:
        response = unsaved_response(survey, "escape", timezone.now())
        assert Response.objects.insert(response, accepting_at=timezone.now()) is True
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET standard_conforming_strings = on")
    assert bytes(Response.objects.get(pk=response.pk).ratings) == bytes([5, 4, 2, 1, 3, 5])


@on_postgresql
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("respondent_id", "x" * 201, "too long"),
        ("page", 2**32 + 7, "out of range"),
        ("nps", 2**16 + 9, "out of range"),
        ("page", 2**70, "out of range"),
    ],
)
def test_a_value_its_column_cannot_hold_is_refused_not_changed(
    survey, codes, field, value, message
):
    # The values go as text through casts (`%s::varchar`, `%s::integer`): neither may cut a
    # long value short or wrap a large number around.
    with sql.prepared_cursor(connection) as cursor:  # the values go through this cursor
        assert type(cursor.cursor).__name__ == "TextParametersCursor"
    response = unsaved_response(survey, "too-big", timezone.now())
    setattr(response, field, value)
    with pytest.raises(DataError, match=message), transaction.atomic():
        Response.objects.insert(response, accepting_at=timezone.now())
    assert not Response.objects.exists()


def test_the_quick_path_leaves_other_accept_headers_to_drf(survey, codes):
    body = {"idempotency_key": "xml", "answers": answers_for(codes)}
    refused = APIClient().post(public_url(survey), body, format="json", HTTP_ACCEPT="text/csv")
    assert refused.status_code == 406
    assert not Response.objects.exists()
    for key, accept in (("any", "*/*"), ("json", "application/json; q=1.0")):
        body = {"idempotency_key": key, "answers": answers_for(codes)}
        reply = APIClient().post(public_url(survey), body, format="json", HTTP_ACCEPT=accept)
        assert reply.status_code == 201 and reply["Content-Type"] == "application/json"
    named = APIClient().post(
        public_url(survey) + "?format=json",
        {"idempotency_key": "named", "answers": answers_for(codes)},
        format="json",
    )
    assert named.status_code == 201
    assert Response.objects.count() == 3


@pytest.mark.parametrize(
    ("content_type", "body", "status", "detail"),
    [
        ("text/plain", b'{"idempotency_key": "k"}', 415, 'Unsupported media type "text/plain"'),
        ("application/json", b"{not json", 400, "JSON parse error"),
        ("application/json", b'{"idempotency_key": "k", "answers": NaN}', 400, "JSON parse error"),
        ("application/json", b"\xff\xfe{}", 400, "JSON parse error"),
        ("application/json", b'["a", "list"]', 400, "The submission is malformed."),
    ],
)
def test_bodies_the_quick_path_does_not_read_get_drfs_answers(
    survey, content_type, body, status, detail
):
    reply = APIClient().post(public_url(survey), body, content_type=content_type)
    assert reply.status_code == status
    assert reply["Content-Type"] == "application/json"
    assert reply.json()["detail"].startswith(detail), reply.json()
    assert not Response.objects.exists()


def test_the_quick_path_and_drfs_answer_a_submission_alike(survey, codes):
    body = {"idempotency_key": "quick", "answers": answers_for(codes)}
    quick = APIClient().post(public_url(survey), body, format="json")
    # Another charset than UTF-8 is left to DRF's parser; an ASCII body reads the same.
    other = json.dumps({**body, "idempotency_key": "drf"}).encode("latin-1")
    slow = APIClient().post(
        public_url(survey), other, content_type="application/json; charset=iso-8859-1"
    )
    assert (quick.status_code, slow.status_code) == (201, 201)
    assert quick.json()["status"] == slow.json()["status"] == "completed"
    a, b = Response.objects.order_by("id")
    assert (a.ratings, a.profile, a.flags, a.version_id) == (
        b.ratings,
        b.profile,
        b.flags,
        b.version_id,
    )
    # Methods other than POST are DRF's: 405 in JSON.
    got = APIClient().get(public_url(survey))
    assert got.status_code == 405 and got["Content-Type"] == "application/json"
