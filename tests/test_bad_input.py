"""Malformed input gets a clear 4xx answer naming the problem, never a server error."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jtbd.models import DesiredOutcome, Job
from surveys import services
from surveys.models import Response, Survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_as, researcher):
    api = api_as(researcher)
    api.raise_request_exception = False
    return api


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_a_catalogue_csv_with_a_nul_character_is_refused(api, job):
    body = "stage,step_title,code,statement\r\nexecute,Use,O9,Minimize the time\x00 it takes\r\n"
    before = DesiredOutcome.objects.count()
    answer = api.post(f"/api/jobs/{job.pk}/import-csv/", {"file": upload("c.csv", body.encode())})
    assert answer.status_code == 400
    assert "NUL" in str(answer.json()["problems"])
    assert DesiredOutcome.objects.count() == before


def test_a_catalogue_csv_with_a_gigantic_cell_is_refused(api, job):
    body = 'stage,step_title,code,statement\r\nexecute,Use,O9,"' + "x" * 200_000 + '"\r\n'
    answer = api.post(f"/api/jobs/{job.pk}/import-csv/", {"file": upload("c.csv", body.encode())})
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "body",
    [b'{"format": ' + b"1" * 5000 + b"}", b"[" * 100_000, b'{"job": {"notes": "a\\u0000b"}}'],
    ids=["huge-integer", "deep-nesting", "nul-character"],
)
def test_malformed_json_bodies_are_400(api, workspace, body):
    answer = api.post(
        f"/api/jobs/import/?workspace={workspace.pk}", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert Job.objects.count() == 0


def test_the_json_catalogue_page_refuses_unreadable_json(client, researcher):
    client.force_login(researcher)
    for data in (b"[" * 100_000, b'{"v": ' + b"9" * 5000 + b"}"):
        page = client.post("/jobs/import/", {"file": io.BytesIO(data)})
        assert page.status_code == 400 and "nothing was imported" in page.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobs/?workspace=99999999999999999999999",
        "/api/outcomes/?job=99999999999999999999999",
        "/api/outcomes/?status=a%00b",
        "/api/surveys/?status=a%00b",
        "/api/surveys/?job=99999999999999999999999",
        "/api/responses/?status=a%00b",
    ],
)
def test_bad_filters_match_nothing(api, job, path):
    answer = api.get(path)
    assert answer.status_code == 200 and answer.json()["results"] == []


def test_a_non_numeric_response_id_on_the_responses_page_is_404(client, researcher, job):
    survey = services.create_survey(workspace=job.workspace, job=job, title="S")
    services.publish_survey(survey=survey)
    client.force_login(researcher)
    answer = client.post(f"/surveys/{survey.pk}/responses/", {"response": "abc", "decision": "x"})
    assert answer.status_code == 404


def _study(api, workspace, body: str, **extra):
    return api.post(
        "/api/surveys/import-study/",
        {"file": upload("s.csv", body.encode()), "name": "S", "workspace": workspace.pk, **extra},
        format="multipart",
    )


def test_an_over_long_or_nul_respondent_id_is_a_problem_not_a_crash(api, workspace):
    body = "respondent_id,imp_O1,sat_O1\r\n" + "x" * 300 + ",3,3\r\nab\x00c,4,4\r\n"
    answer = _study(api, workspace, body)
    assert answer.status_code == 400
    assert {p["row"] for p in answer.json()["problems"]} == {2, 3}
    assert Survey.objects.count() == 0 and Response.objects.count() == 0


def test_a_profile_column_with_nan_becomes_text_not_a_broken_number(api, workspace):
    rows = "".join(f"r{i},{i},3,3\r\n" for i in range(14)) + "r99,nan,3,3\r\n"
    answer = _study(
        api, workspace, "respondent_id,age,imp_O1,sat_O1\r\n" + rows, profile_columns="age"
    )
    assert answer.status_code == 201, answer.content
    survey = Survey.objects.get()
    assert survey.questions.get().kind != "number"
    assert Response.objects.filter(survey=survey).count() == 15
