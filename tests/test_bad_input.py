"""Malformed input gets a clear 4xx answer naming the problem, never a server error."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from jtbd.models import DesiredOutcome, Job
from surveys import services
from surveys.models import Question, Response, Survey
from tests.security.test_isolation import assert_unchanged, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_as, researcher):
    api = api_as(researcher)
    api.raise_request_exception = False
    return api


def upload_file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_a_catalogue_csv_with_a_nul_character_is_refused(api, job):
    rows = snapshot()
    body = "stage,step_title,code,statement\r\nexecute,Use,O9,Minimize the time\x00 it takes\r\n"
    before = DesiredOutcome.objects.count()
    answer = api.post(
        f"/api/jobs/{job.pk}/import-csv/", {"file": upload_file("c.csv", body.encode())}
    )
    assert answer.status_code == 400
    assert "NUL" in str(answer.json()["problems"])
    assert DesiredOutcome.objects.count() == before
    assert_unchanged(rows)


def test_a_catalogue_csv_with_a_gigantic_cell_is_refused(api, job):
    rows = snapshot()
    body = 'stage,step_title,code,statement\r\nexecute,Use,O9,"' + "x" * 200_000 + '"\r\n'
    answer = api.post(
        f"/api/jobs/{job.pk}/import-csv/", {"file": upload_file("c.csv", body.encode())}
    )
    assert answer.status_code == 400
    assert_unchanged(rows)


@pytest.mark.parametrize(
    "body",
    [b'{"format": ' + b"1" * 5000 + b"}", b"[" * 100_000, b'{"job": {"notes": "a\\u0000b"}}'],
    ids=["huge-integer", "deep-nesting", "nul-character"],
)
def test_malformed_json_bodies_are_400(api, workspace, body):
    rows = snapshot()
    answer = api.post(
        f"/api/jobs/import/?workspace={workspace.pk}", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert Job.objects.count() == 0
    assert_unchanged(rows)


def test_the_json_catalogue_page_refuses_unreadable_json(client, researcher):
    client.force_login(researcher)  # before the snapshot: signing in writes last_login
    rows = snapshot()
    for data in (b"[" * 100_000, b'{"v": ' + b"9" * 5000 + b"}"):
        page = client.post("/jobs/import/", {"file": io.BytesIO(data)})
        assert page.status_code == 400 and "nothing was imported" in page.content.decode()
    assert_unchanged(rows)


@pytest.mark.parametrize(
    "path",
    [
        "/api/jobs/?workspace=99999999999999999999999",
        "/api/outcomes/?job=99999999999999999999999",
        "/api/outcomes/?status=nonsense",
        "/api/surveys/?job=99999999999999999999999",
        "/api/responses/?status=%C3%A9",
    ],
)
def test_bad_filters_match_nothing(api, job, path):
    answer = api.get(path)
    assert answer.status_code == 200 and answer.json()["results"] == []


@pytest.mark.parametrize(
    "path",
    ["/api/outcomes/?status=a%00b", "/api/surveys/?status=a%00b", "/api/responses/?status=%FF"],
)
def test_a_filter_with_a_nul_or_bytes_that_are_not_utf8_is_400_naming_it(api, job, path):
    answer = api.get(path)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("The query parameter “status” ")


def test_a_non_numeric_response_id_on_the_responses_page_is_404(client, researcher, job):
    survey = services.create_survey(workspace=job.workspace, job=job, title="S")
    services.publish_survey(survey=survey)
    client.force_login(researcher)
    answer = client.post(f"/surveys/{survey.pk}/responses/", {"response": "abc", "decision": "x"})
    assert answer.status_code == 404


def _study(api, workspace, body: str, **extra):
    return api.post(
        "/api/surveys/import-study/",
        {
            "file": upload_file("s.csv", body.encode()),
            "name": "S",
            "workspace": workspace.pk,
            **extra,
        },
        format="multipart",
    )


def test_an_over_long_or_nul_respondent_id_is_a_problem_not_a_crash(api, workspace):
    rows = snapshot()
    body = "respondent_id,imp_O1,sat_O1\r\n" + "x" * 300 + ",3,3\r\nab\x00c,4,4\r\n"
    answer = _study(api, workspace, body)
    assert answer.status_code == 400
    assert {p["row"] for p in answer.json()["problems"]} == {2, 3}
    assert Survey.objects.count() == 0 and Response.objects.count() == 0
    assert_unchanged(rows)


def test_a_profile_column_with_nan_becomes_text_not_a_broken_number(api, workspace):
    rows = "".join(f"r{i},{i},3,3\r\n" for i in range(14)) + "r99,nan,3,3\r\n"
    answer = _study(
        api, workspace, "respondent_id,age,imp_O1,sat_O1\r\n" + rows, profile_columns="age"
    )
    assert answer.status_code == 201, answer.content
    survey = Survey.objects.get()
    assert survey.questions.get().kind != "number"
    assert Response.objects.filter(survey=survey).count() == 15


# --- text that cannot be stored: NUL, lone surrogates, bytes that are not UTF-8, deep nesting ---
#
# PostgreSQL refuses NUL in text where SQLite keeps it, and no database encodes a lone surrogate:
# these used to fail inside the views as 500s. Each is refused before a view runs, with a 400
# naming the place (config/inputs.py).


@pytest.fixture
def open_survey(job) -> Survey:
    """A published survey with a free-text profile question and "what do you use today"."""
    survey = services.create_survey(workspace=job.workspace, job=job, title="Adoption")
    Survey.objects.filter(pk=survey.pk).update(
        ask_current_solution=True, current_solution_options=["Email", "Wiki"]
    )
    Question.objects.create(survey=survey, key="role", kind="text", text="Your role?", order=1)
    survey.refresh_from_db()
    services.publish_survey(survey=survey)
    return survey


def _submission(survey: Survey, **answers) -> dict:
    """A complete, valid submission, unless `answers` spoil it."""
    codes = survey.current_version.outcome_codes
    ratings = {c: {"importance": 4, "satisfaction": 2} for c in codes}
    answers = {
        "ratings": ratings,
        "profile": {"role": "Lead"},
        "current_solution": "Email",
        **answers,
    }
    return {"idempotency_key": "k-1", "answers": answers}


def _public_post(survey_token: str, body: bytes):
    return APIClient().post(
        f"/api/public/surveys/{survey_token}/responses/", body, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("change", "place", "problem"),
    [
        (lambda b: b["answers"].update(profile={"role": "a\x00b"}), "answers.profile.role", "NUL"),
        (lambda b: b["answers"].update(current_solution="Sheets\x00"), "current_solution", "NUL"),
        (lambda b: b["answers"].update(profile={"role": "a\ud800"}), "profile.role", "U+D800"),
        (lambda b: b["answers"].update(current_solution="\udfff"), "current_solution", "U+DFFF"),
        (lambda b: b.update(idempotency_key="k\x00"), "at idempotency_key", "NUL"),
        (lambda b: b["answers"]["ratings"].update({"O\x001": {}}), "has a key that", "NUL"),
        (lambda b: b["answers"].update(profile={"\ud800": "x"}), "has a key that", "U+D800"),
    ],
    ids=[
        "nul-in-free-text",
        "nul-in-other-solution",
        "surrogate-in-free-text",
        "surrogate-in-other-solution",
        "nul-in-idempotency-key",
        "nul-in-a-key",
        "surrogate-in-a-key",
    ],
)
def test_a_public_submission_with_unstorable_text_anywhere_is_400_naming_it(
    open_survey, change, place, problem
):
    rows = snapshot()
    body = _submission(open_survey)
    change(body)
    # json.dumps writes NUL and surrogates as \u escapes, as every JSON client does.
    reply = _public_post(open_survey.public_token, json.dumps(body).encode())
    assert reply.status_code == 400, reply.content
    detail = reply.json()["detail"]
    assert place in detail and problem in detail, detail
    assert not Response.objects.exists()
    assert_unchanged(rows)


def test_a_public_submission_that_is_not_utf8_is_400(open_survey):
    rows = snapshot()
    body = json.dumps(_submission(open_survey, profile={"role": "ROLE"})).encode()
    reply = _public_post(open_survey.public_token, body.replace(b"ROLE", b"r\xffle"))
    assert reply.status_code == 400
    assert "not valid UTF-8 (byte 0xFF" in reply.json()["detail"]
    assert not Response.objects.exists()
    assert_unchanged(rows)


@pytest.mark.parametrize(
    ("charset", "role"), [("utf-7", "a+2AA-"), ("utf-16-le", "a\ud800")], ids=["utf-7", "utf-16"]
)
def test_a_surrogate_written_raw_in_another_declared_charset_is_400(open_survey, charset, role):
    # UTF-7 writes U+D800 as "+2AA-", with no \u escape for the check to see; UTF-16's decoder
    # refuses a lone surrogate itself.
    rows = snapshot()
    body = json.dumps(_submission(open_survey, profile={"role": "ROLE"})).replace("ROLE", role)
    raw = body.encode("ascii") if charset == "utf-7" else body.encode(charset, "surrogatepass")
    reply = APIClient().post(
        f"/api/public/surveys/{open_survey.public_token}/responses/",
        raw,
        content_type=f"application/json; charset={charset}",
    )
    assert reply.status_code == 400, reply.content
    assert not Response.objects.exists()
    assert_unchanged(rows)


@pytest.mark.parametrize("depth", [50_000, 65])
def test_a_public_submission_nested_too_deep_is_400(open_survey, depth):
    rows = snapshot()
    nested = "[" * depth + "]" * depth
    body = json.dumps(_submission(open_survey)).replace('"ratings"', f'"deep": {nested}, "ratings"')
    reply = _public_post(open_survey.public_token, body.encode())
    assert reply.status_code == 400
    assert "more than 64 levels deep" in reply.json()["detail"]
    assert not Response.objects.exists()
    assert_unchanged(rows)


def test_a_public_submission_with_ordinary_unicode_and_escapes_is_stored(open_survey):
    """The control: characters beyond the BMP (a surrogate pair in JSON), a literal backslash-u
    and nesting a little under the limit are all fine."""
    body = json.dumps(
        _submission(
            open_survey,
            profile={"role": "Lead 😀 \\u0000 é"},
            deep=[[[[[[1]]]]]],
        )
    )
    reply = _public_post(open_survey.public_token, body.encode())
    assert reply.status_code == 201, reply.content
    assert Response.objects.get().profile == {"role": "Lead 😀 \\u0000 é"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/s/%00/"),
        ("post", "/s/%00/"),
        ("get", "/i/abc%00def/"),
        ("post", "/i/abc%00def/"),
        ("post", "/api/public/surveys/%00/responses/"),
    ],
)
def test_a_nul_in_a_respondent_link_is_400(open_survey, method, path):
    rows = snapshot()
    reply = getattr(Client(), method)(path)
    assert reply.status_code == 400
    text = reply.content.decode()
    assert "The URL path contains a NUL character (U+0000)" in text
    if not path.startswith("/api/"):
        assert "survey.css" in text  # the respondent's layout, not the app's
    assert not Response.objects.exists()
    assert_unchanged(rows)


@pytest.mark.parametrize("path", ["/s/%FF/", "/i/%ED%A0%80/", "/api/public/surveys/%C0/responses/"])
def test_bytes_that_are_not_utf8_in_a_respondent_link_match_no_survey(open_survey, path):
    """Django keeps such bytes percent-encoded, so the link is the text "%FF": no survey has it."""
    rows = snapshot()
    reply = Client().post(path) if path.startswith("/api/") else Client().get(path)
    assert reply.status_code == 404
    assert not Response.objects.exists()
    assert_unchanged(rows)


def test_the_web_survey_refuses_a_nul_in_the_other_solution_and_keeps_the_response(open_survey):
    client = Client()
    url = f"/s/{open_survey.public_token}/"
    assert client.post(url, {"page": 0}).status_code == 302  # the welcome page starts a response
    response = Response.objects.get()
    rows = snapshot()
    page = client.post(
        url,
        {
            "page": 1,
            "q-role": "Lead",
            "current_solution": "__other__",
            "current_solution_other": "a\x00b",
        },
    )
    assert page.status_code == 400
    html = page.content.decode()
    assert "form field “current_solution_other” contains a NUL character" in html
    response.refresh_from_db()
    assert (response.page, response.current_solution, response.profile) == (1, "", {})
    assert_unchanged(rows)
    # The same page without the NUL goes through.
    fixed = {"page": 1, "q-role": "Lead", "current_solution": "__other__"}
    assert client.post(url, {**fixed, "current_solution_other": "ab"}).status_code == 302
    response.refresh_from_db()
    assert (response.page, response.current_solution) == (2, "ab")


def test_a_catalogue_json_file_with_a_lone_surrogate_is_refused(client, researcher, workspace):
    client.force_login(researcher)  # before the snapshot: signing in writes last_login
    rows = snapshot()
    document = b'{"format": "opportunity-engine.catalogue", "job": {"notes": "a\\ud800"}}'
    page = client.post("/jobs/import/", {"file": io.BytesIO(document)})
    assert page.status_code == 400
    html = page.content.decode()
    assert "job.notes" in html and "lone surrogate (U+D800)" in html
    assert Job.objects.count() == 0
    assert_unchanged(rows)


def test_the_json_catalogue_api_refuses_a_lone_surrogate_naming_the_place(api, workspace):
    rows = snapshot()
    body = b'{"job": {"statement": "x", "notes": "\\udc00"}, "steps": []}'
    answer = api.post(
        f"/api/jobs/import/?workspace={workspace.pk}", body, content_type="application/json"
    )
    assert answer.status_code == 400
    assert "at job.notes contains a lone surrogate (U+DC00)" in answer.json()["detail"]
    assert Job.objects.count() == 0
    assert_unchanged(rows)


# --- uploaded files: a NUL in any cell -------------------------------------------------------


def _with_nul_in_each_cell(text: str) -> list[str]:
    """`text` once for every cell start and line end, with a NUL put there."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c in ",\n"]
    return [text[:i] + "\x00" + text[i:] for i in sorted(set(starts)) if i < len(text)]


def _stored_text_with_nul() -> list[str]:
    """Every stored text value, of the models uploads write, that holds a NUL."""
    from django.db import models as m

    from jtbd.models import JobStep
    from surveys.models import Invitation

    found = []
    for model in (Job, JobStep, DesiredOutcome, Survey, Question, Response, Invitation):
        text = [
            f.attname
            for f in model._meta.concrete_fields
            if isinstance(f, m.CharField | m.TextField)
        ]
        for row in model.objects.values_list("pk", *text):
            found += [f"{model.__name__} {row[0]}" for v in row[1:] if v and "\x00" in v]
        if model is Response:
            found += [
                f"Response {pk}"
                for pk, p in model.objects.values_list("pk", "profile")
                if "\x00" in json.dumps(p)
            ]
    return found


CATALOGUE_CSV = (
    "stage,step_title,code,statement,status\n"
    "execute,Use it,O9{n},Minimize the time it takes to find a file,approved\n"
)
PEOPLE_CSV = "external_id\nperson-{n}\nsomeone{n}@example.org\n"


def _responses_csv(codes: list[str]) -> str:
    header = ",".join(
        ["respondent_id", "role", *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]
    )
    return header + "\nr{n},Lead," + ",".join(["4", "2"] * len(codes)) + "\n"


@pytest.mark.parametrize(
    "upload",
    [
        "catalogue-api",
        "catalogue-page",
        "responses-api",
        "responses-page",
        "study-api",
        "people-page",
    ],
)
def test_an_uploaded_file_with_a_nul_in_any_cell_is_refused_or_stored_without_it(
    upload, client, owner, job
):
    survey = services.create_survey(workspace=job.workspace, job=job, title="S")
    services.publish_survey(survey=survey)
    api = APIClient()
    api.force_authenticate(owner)
    client.force_login(owner)
    codes = list(survey.current_version.outcome_codes)
    base, send = {
        "catalogue-api": (
            CATALOGUE_CSV,
            lambda f: api.post(f"/api/jobs/{job.pk}/import-csv/", {"file": f}),
        ),
        "catalogue-page": (
            CATALOGUE_CSV,
            lambda f: client.post(f"/jobs/{job.pk}/import-csv/", {"file": f}),
        ),
        "responses-api": (
            _responses_csv(codes),
            lambda f: api.post(
                f"/api/surveys/{survey.pk}/import-responses/",
                {"file": f, "profile_columns": "role"},
            ),
        ),
        "responses-page": (
            _responses_csv(codes),
            lambda f: client.post(
                f"/surveys/{survey.pk}/import/",
                {
                    "file": f,
                    "profile_columns": "role",
                    "id_column": "respondent_id",
                    "importance_pattern": "imp_{code}",
                    "satisfaction_pattern": "sat_{code}",
                },
            ),
        ),
        "study-api": (
            _responses_csv(["X1", "X2"]),
            lambda f: api.post(
                "/api/surveys/import-study/",
                {
                    "file": f,
                    "name": "Study",
                    "workspace": job.workspace.pk,
                    "profile_columns": "role",
                },
            ),
        ),
        "people-page": (
            PEOPLE_CSV,
            lambda f: client.post(f"/surveys/{survey.pk}/invitations/", {"file": f}),
        ),
    }[upload]
    # What each answers when it stores the file, and when it refuses it: the API's 400, the
    # pages' form shown again with the problem (a 400 for imports, a 200 for the people form).
    accepted, refused = {
        "catalogue-api": (201, 400),
        "catalogue-page": (302, 400),
        "responses-api": (201, 400),
        "responses-page": (302, 400),
        "study-api": (201, 400),
        "people-page": (302, 200),
    }[upload]
    api.raise_request_exception = client.raise_request_exception = False
    wrong = []
    # Each file has ids of its own ({n}), so one accepted does not spoil the next.
    for n, text in enumerate(_with_nul_in_each_cell(base)):
        text = text.replace("{n}", str(n))
        before = snapshot()
        reply = send(upload_file("upload.csv", text.encode()))
        where = repr(text[max(0, text.index("\x00") - 12) : text.index("\x00") + 12])
        if reply.status_code not in (accepted, refused):
            wrong.append(f"{where}: {reply.status_code}, neither {accepted} nor {refused}")
        elif reply.status_code == refused and snapshot() != before:
            wrong.append(f"{where}: refused with {reply.status_code} but rows changed")
        elif reply.status_code == accepted and snapshot() == before:
            wrong.append(f"{where}: answered {reply.status_code} but stored nothing")
        if stored := _stored_text_with_nul():
            wrong.append(f"{where}: {reply.status_code}, NUL stored in {stored}")
            break
    assert wrong == [], "\n".join(wrong)
    # The control: the file without a NUL is accepted.
    control = send(upload_file("upload.csv", base.replace("{n}", "999").encode()))
    assert control.status_code == accepted, control.content[:300]
