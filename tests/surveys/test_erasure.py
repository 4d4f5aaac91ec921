"""Erasing personal data, per respondent and per survey, through the pages, the API, the command
and the service: the identifiers disappear from the database, pages, API, CSVs and exports, the
answers and scores stay, and every erasure is audited without keeping what it erased.

The study: a published survey with e-mail and external-id invitations (most answered through
their links), an API submission with an idempotency key, and imported responses, one of which
came with an invited person's e-mail address; analysed once before anything is erased.
"""

from __future__ import annotations

import csv
import io

import numpy as np
import openpyxl
import pyreadstat
import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from analysis import export_jobs, export_sav, exports
from analysis.models import AnalysisRun, ExportJob, ExportStatus, RunStatus, SegmentMembership
from analysis.parameters import clean_parameters
from analysis.pipeline import StageTimer, compute
from analysis.runs import analyze_now
from analysis.storing import store_results
from surveys import erasure, services
from surveys.importing import import_responses
from surveys.invitations import add_invitations
from surveys.models import ErasureRecord, ErasureScope, Invitation, Question, Response, Survey
from surveys.wide_csv import ImportOptions
from tests.factories import JobFactory, add_outcomes

pytestmark = pytest.mark.django_db

ALICE = "alice@example.com"  # invited by e-mail, answered through her link
BOB = "bob@example.com"  # invited by e-mail, answered through his link
ERIN = "erin@example.com"  # invited, never used her link; her answers came in the import
FRANK = "frank@example.com"  # invited, not answered
CUST = "cust-0001"  # invited by external id, answered through the link
CRM_KEY = "crm-carol@example.com"  # an API submission's idempotency key
IMPORTED = [f"imp-{i:03d}" for i in range(40)]
EVERYONE = [ALICE, BOB, ERIN, FRANK, CUST, CRM_KEY, *IMPORTED]
PARAMETERS = {"seed": 7, "n_resamples": 1000}


# --- the study ----------------------------------------------------------------------------------


@pytest.fixture
def study(workspace, job, owner):
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption study")
    Question.objects.create(
        survey=survey, key="role", kind="single", text="Your role", options=["Lead", "Member"]
    )
    services.publish_survey(survey=survey, by=owner)
    survey.refresh_from_db()
    add_invitations(
        survey=survey,
        people=[("", ALICE), ("", BOB), ("", ERIN), ("", FRANK), (CUST, "")],
    )
    codes = survey.current_version.outcome_codes
    rng = np.random.default_rng(3)

    def answers(role: str) -> dict:
        return {
            "ratings": {
                c: {"importance": int(rng.integers(1, 6)), "satisfaction": int(rng.integers(1, 6))}
                for c in codes
            },
            "profile": {"role": role},
        }

    public = f"/api/public/surveys/{survey.public_token}/responses/"
    for person in (ALICE, BOB, CUST):
        invitation = Invitation.objects.get(survey=survey, **_lookup(person))
        body = {"invitation": invitation.token, "answers": answers("Lead")}
        assert APIClient().post(public, body, format="json").status_code == 201
    body = {"idempotency_key": CRM_KEY, "answers": answers("Member")}
    assert APIClient().post(public, body, format="json").status_code == 201
    rows = [["respondent_id", "role", *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]]
    # Erin's answers were collected elsewhere, under her address spelled differently.
    for rid in [ERIN.capitalize(), *IMPORTED]:
        ratings = [int(x) for x in rng.integers(1, 6, 2 * len(codes))]
        rows.append([rid, str(rng.choice(["Lead", "Member"])), *map(str, ratings)])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    import_responses(
        survey=survey, data=buffer.getvalue(), options=ImportOptions(profile_columns=("role",))
    )
    run = analyze_now(survey=survey, parameters=PARAMETERS)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return survey


def _lookup(person: str) -> dict:
    return {"email": person} if "@" in person else {"external_id": person}


@pytest.fixture
def owner_api(api_as, owner):
    return api_as(owner)


@pytest.fixture
def owner_page(owner):
    client = Client()
    client.force_login(owner)
    return client


def latest_run(survey: Survey) -> AnalysisRun:
    return AnalysisRun.objects.latest_succeeded(survey)


def scores(run: AnalysisRun) -> list[tuple]:
    return list(
        run.whole_sample().values_list(
            "code",
            "n",
            "importance",
            "satisfaction",
            "opportunity",
            "opportunity_lower",
            "opportunity_upper",
            "rank",
        )
    )


def answers_of(survey: Survey) -> list[tuple]:
    """Everything analysis reads from the responses, in response order."""
    return [
        (r.pk, bytes(r.ratings), r.profile, r.status, r.flags, r.nps, r.ces)
        for r in survey.responses.order_by("pk")
    ]


def database_text() -> str:
    """Every value of every row of every table, as text (binary columns decoded as Latin-1)."""
    chunks: list[str] = []
    for model in apps.get_models():
        for row in model.objects.values_list():
            for value in row:
                if isinstance(value, bytes | memoryview):
                    chunks.append(bytes(value).decode("latin-1"))
                else:
                    chunks.append(str(value))
    return "\n".join(chunks)


def snapshot() -> tuple:
    return (
        list(Invitation.objects.order_by("pk").values_list("pk", "token", "email", "external_id")),
        list(
            Response.objects.order_by("pk").values_list(
                "pk", "respondent_id", "browser_key", "idempotency_key"
            )
        ),
        list(SegmentMembership.objects.order_by("pk").values_list("pk", "respondent_ids")),
        ErasureRecord.objects.count(),
    )


def xlsx_text(content: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return "\n".join(
        str(value) for sheet in book for row in sheet.iter_rows(values_only=True) for value in row
    )


def sav_ids(content: bytes, tmp_path) -> list[str]:
    path = tmp_path / "respondents.sav"
    path.write_bytes(content)
    frame, _ = pyreadstat.read_sav(str(path))
    return list(frame["respondent_id"])


def everything_shown(survey: Survey, api: APIClient, page: Client, tmp_path) -> str:
    """What the pages, the API, the CSVs and every export show of the survey, as one text."""
    pk = survey.pk
    shown = [
        page.get(f"/surveys/{pk}/invitations/").content.decode(),
        page.get(f"/surveys/{pk}/invitations.csv").content.decode(),
        page.get(f"/surveys/{pk}/responses/").content.decode(),
        page.get(f"/surveys/{pk}/fieldwork/").content.decode(),
        api.get(f"/api/invitations/?survey={pk}").content.decode(),
        api.get(f"/api/responses/?survey={pk}").content.decode(),
        api.get(f"/api/surveys/{pk}/invitations-csv/").content.decode(),
        api.get(f"/api/surveys/{pk}/erasures/").content.decode(),
        api.get(f"/api/surveys/{pk}/exports/?format=csv").content.decode(),
    ]
    xlsx = api.get(f"/api/surveys/{pk}/exports/?format=xlsx")
    sav = api.get(f"/api/surveys/{pk}/exports/?format=sav")
    assert xlsx.status_code == sav.status_code == 200
    shown.append(xlsx_text(xlsx.content))
    shown.append("\n".join(sav_ids(sav.content, tmp_path)))
    for run in AnalysisRun.objects.filter(survey=survey, status=RunStatus.SUCCEEDED):
        shown.append(exports.segments_csv(run))
        shown.append("\n".join(sav_ids(export_sav.respondents_sav(run), tmp_path)))
    return "\n".join(shown)


# --- one respondent -----------------------------------------------------------------------------


def test_erasing_a_respondent_through_the_api_removes_their_identifiers_everywhere(
    study, owner_api, owner_page, tmp_path
):
    survey = study
    before = everything_shown(survey, owner_api, owner_page, tmp_path)
    assert ALICE in before and BOB in before  # the checks below can see an identifier
    alice = Response.objects.get(survey=survey, respondent_id=ALICE)
    old_token = Invitation.objects.get(email=ALICE).token

    response = owner_api.post(
        f"/api/surveys/{survey.pk}/erase/", {"respondent": ALICE}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "respondent"
    assert (body["invitations"], body["responses"], body["analysis_runs"]) == (1, 1, 1)
    assert body["by_username"] == "owner"
    assert ALICE not in database_text()
    shown = everything_shown(survey, owner_api, owner_page, tmp_path)
    assert ALICE not in shown
    assert BOB in shown  # only the one person
    alice.refresh_from_db()
    assert alice.respondent_id == f"erased-{alice.pk}"
    assert f"erased-{alice.pk}" in exports.segments_csv(latest_run(survey))
    assert Client().get(f"/i/{old_token}/").status_code == 404  # the link sent is disabled
    # Neither links CSV offers the erased invitation's replacement link, which nobody was sent.
    for csv_text in (
        owner_page.get(f"/surveys/{survey.pk}/invitations.csv").content.decode(),
        owner_api.get(f"/api/surveys/{survey.pk}/invitations-csv/").content.decode(),
    ):
        rows = list(csv.DictReader(io.StringIO(csv_text)))
        assert sum(1 for row in rows if not row["link"]) == 1
        assert all("/i/erased-" not in row["link"] for row in rows)


def test_the_admin_history_forgets_the_erased_identifiers(study, owner):
    survey = study
    invitation = Invitation.objects.get(email=ALICE)
    response = Response.objects.get(respondent_id=ALICE)
    for obj in (invitation, response):
        LogEntry.objects.log_actions(
            owner.pk, [obj], CHANGE, change_message="Changed email.", single_object=True
        )
    assert ALICE in database_text()

    erasure.erase_respondent(survey=survey, respondent=ALICE, by=owner)

    assert ALICE not in database_text()
    assert LogEntry.objects.filter(object_repr="(erased)").count() == 2


def test_a_person_is_found_by_any_identifier_and_everything_linked_goes(study):
    survey = study
    frank_token = Invitation.objects.get(email=FRANK).token
    by_token = erasure.erase_respondent(survey=survey, respondent=frank_token, by=None)
    assert (by_token.invitations, by_token.responses) == (1, 0)
    assert not Invitation.objects.filter(email=FRANK).exists()

    # Erin's answers came in the import under her e-mail address, not through her link.
    record = erasure.erase_respondent(survey=survey, respondent="  Erin@Example.COM ", by=None)
    assert (record.invitations, record.responses) == (1, 1)
    assert ERIN not in database_text().lower()

    record = erasure.erase_respondent(survey=survey, respondent=f"api-{CRM_KEY}", by=None)
    assert record.responses == 1
    assert CRM_KEY not in database_text()
    crm = Response.objects.get(survey=survey, respondent_id__startswith="erased-", source="api")
    assert crm.idempotency_key is None

    record = erasure.erase_respondent(survey=survey, respondent=CUST, by=None)
    assert (record.invitations, record.responses) == (1, 1)
    assert CUST not in database_text()


def test_answers_stay_and_a_new_analysis_gives_the_same_scores(study):
    survey = study
    run_before = latest_run(survey)
    stored_before = scores(run_before)
    answers_before = answers_of(survey)

    erasure.erase_respondent(survey=survey, respondent=ALICE, by=None)
    erasure.erase_survey_personal_data(survey=survey, by=None)

    assert answers_of(survey) == answers_before
    assert scores(run_before) == stored_before
    again = analyze_now(survey=survey, parameters=PARAMETERS)
    assert again.status == RunStatus.SUCCEEDED, again.error
    assert again.n_respondents == run_before.n_respondents
    assert scores(again) == stored_before
    # The new run's stored ids are the pseudonyms, in the same order as the old run's.
    assert again.membership.respondent_ids == run_before.membership.respondent_ids
    assert all(rid.startswith("erased-") for rid in again.membership.respondent_ids)


def test_the_audit_names_who_and_how_many_and_keeps_only_a_keyed_hash(study, owner):
    survey = study
    record = erasure.erase_respondent(survey=survey, respondent=ALICE, by=owner)

    record.refresh_from_db()
    assert record.scope == ErasureScope.RESPONDENT
    assert (record.by, record.by_username) == (owner, "owner")
    assert (record.workspace_id, record.survey_id, record.survey_title) == (
        survey.workspace_id,
        survey.pk,
        "Adoption study",
    )
    assert (record.invitations, record.responses, record.analysis_runs) == (1, 1, 1)
    assert ErasureRecord.reference(survey.pk, ALICE) in record.references
    assert all(len(ref) == 64 and ALICE not in ref for ref in record.references)
    assert record.covers(ALICE) and record.covers("ALICE@example.com ")
    assert not record.covers(BOB)
    assert erasure.find_erasures(survey=survey, identifier=ALICE) == [record]
    assert erasure.find_erasures(survey=survey, identifier=BOB) == []

    owner.delete()
    record.refresh_from_db()
    assert (record.by, record.by_username) == (None, "owner")


def test_erasing_twice_is_harmless(study, owner_api):
    survey = study
    url = f"/api/surveys/{survey.pk}/erase/"
    assert owner_api.post(url, {"respondent": ALICE}, format="json").status_code == 201
    before = snapshot()

    again = owner_api.post(url, {"respondent": ALICE}, format="json")

    assert again.status_code == 201, again.content
    body = again.json()
    assert (body["invitations"], body["responses"], body["analysis_runs"]) == (0, 0, 0)
    assert snapshot()[:3] == before[:3]
    assert ErasureRecord.objects.count() == 2

    everyone = {"all": True, "confirm": "Adoption study"}
    assert owner_api.post(url, everyone, format="json").status_code == 201
    erased = snapshot()
    twice = owner_api.post(url, everyone, format="json")
    assert twice.status_code == 201
    assert (twice.json()["invitations"], twice.json()["responses"]) == (0, 0)
    assert snapshot()[:3] == erased[:3]


def test_an_unknown_respondent_is_a_404_naming_it_and_changes_nothing(study, owner_api):
    survey = study
    before = snapshot()

    response = owner_api.post(
        f"/api/surveys/{survey.pk}/erase/", {"respondent": "nobody@example.com"}, format="json"
    )

    assert response.status_code == 404
    assert "nobody@example.com" in response.json()["detail"]
    assert snapshot() == before


def test_a_run_that_read_the_ids_before_an_erasure_stores_the_pseudonyms(study):
    """An analysis computing while an erasure commits must not store what it read before."""
    survey = study
    run = AnalysisRun.objects.create(
        survey=survey,
        parameters=clean_parameters(PARAMETERS),
        status=RunStatus.RUNNING,
        claim_token="held",
    )
    results = compute(run, timer=StageTimer(), progress=lambda p, s: None)
    assert ALICE in results.matrix.respondent_ids
    alice = Response.objects.get(survey=survey, respondent_id=ALICE)

    erasure.erase_respondent(survey=survey, respondent=ALICE, by=None)
    store_results(run.pk, "held", results, StageTimer())

    stored = SegmentMembership.objects.get(run=run).respondent_ids
    assert ALICE not in stored
    alice.refresh_from_db()
    assert alice.respondent_id in stored


def test_stored_respondent_files_are_deleted_and_one_being_built_is_stopped(study, tmp_path):
    survey = study
    run = latest_run(survey)
    built = export_jobs.request_export(run=run, fmt="sav")
    export_jobs.build(built.pk)
    results = export_jobs.request_export(run=run, fmt="csv")
    export_jobs.build(results.pk)
    waiting = export_jobs.request_export(run=run, fmt="sav")
    assert ALICE in sav_ids(bytes(ExportJob.objects.get(pk=built.pk).content), tmp_path)

    record = erasure.erase_respondent(survey=survey, respondent=ALICE, by=None)

    assert record.exports == 2
    built.refresh_from_db()
    assert (built.status, built.content) == (ExportStatus.FAILED, None)
    assert "erased" in built.error
    assert ExportJob.objects.get(pk=results.pk).status == ExportStatus.SUCCEEDED
    assert export_jobs.build(waiting.pk) is None  # no longer queued: never built
    assert ALICE not in database_text()


# --- the whole survey ---------------------------------------------------------------------------


def test_erasing_a_survey_removes_every_identifier_and_keeps_the_answers(
    study, owner_api, owner_page, tmp_path
):
    survey = study
    tokens = list(Invitation.objects.filter(survey=survey).values_list("token", flat=True))
    answers_before = answers_of(survey)

    response = owner_api.post(
        f"/api/surveys/{survey.pk}/erase/",
        {"all": True, "confirm": "Adoption study"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["scope"] == "survey"
    assert (body["invitations"], body["responses"]) == (5, 45)
    text = database_text()
    shown = everything_shown(survey, owner_api, owner_page, tmp_path)
    for identifier in [*EVERYONE, ERIN.capitalize(), *tokens]:
        assert identifier not in text, identifier
        assert identifier not in shown, identifier
    assert answers_of(survey) == answers_before
    assert not Response.objects.filter(survey=survey, browser_key__isnull=False).exists()
    for token in tokens:
        assert Client().get(f"/i/{token}/").status_code == 404
    record = ErasureRecord.objects.get()
    assert record.references == []  # no list of who took part
    assert record.covers(ALICE)  # a survey-wide erasure covers everyone


def test_the_whole_survey_needs_its_title_typed_exactly(study, owner_api):
    survey = study
    before = snapshot()
    url = f"/api/surveys/{survey.pk}/erase/"
    for body in (
        {"all": True},
        {"all": True, "confirm": "adoption study"},
        {"all": True, "confirm": "Another survey"},
    ):
        response = owner_api.post(url, body, format="json")
        assert response.status_code == 400, body
        assert "confirm" in response.json()
    both = owner_api.post(
        url, {"all": True, "confirm": "Adoption study", "respondent": ALICE}, format="json"
    )
    assert both.status_code == 400
    neither = owner_api.post(url, {}, format="json")
    assert neither.status_code == 400
    assert "respondent" in neither.json()
    assert snapshot() == before


# --- who may erase --------------------------------------------------------------------------------


def test_only_owners_erase_through_the_api(study, api_as, researcher, viewer, outsider):
    survey = study
    before = snapshot()
    url = f"/api/surveys/{survey.pk}/erase/"
    for user, expected in ((viewer, 403), (researcher, 403), (outsider, 404)):
        api = api_as(user)
        assert api.post(url, {"respondent": ALICE}, format="json").status_code == expected
        everyone = {"all": True, "confirm": "Adoption study"}
        assert api.post(url, everyone, format="json").status_code == expected
    assert APIClient().post(url, {"respondent": ALICE}, format="json").status_code == 401
    assert snapshot() == before


def test_members_read_the_audit_and_other_workspaces_get_404(
    study, owner, api_as, viewer, outsider
):
    survey = study
    erasure.erase_respondent(survey=survey, respondent=ALICE, by=owner)
    erasure.erase_survey_personal_data(survey=survey, by=owner)
    url = f"/api/surveys/{survey.pk}/erasures/"

    listed = api_as(viewer).get(url)

    assert listed.status_code == 200
    assert [(e["scope"], e["by_username"]) for e in listed.json()] == [
        ("survey", "owner"),
        ("respondent", "owner"),
    ]
    assert "references" not in listed.json()[0]
    assert api_as(outsider).get(url).status_code == 404
    assert APIClient().get(url).status_code == 401


def test_the_actions_are_in_the_openapi_schema(owner_api):
    schema = owner_api.get("/api/schema/", {"format": "json"}).json()
    assert "post" in schema["paths"]["/api/surveys/{id}/erase/"]
    assert "get" in schema["paths"]["/api/surveys/{id}/erasures/"]


# --- the page -----------------------------------------------------------------------------------


def test_an_owner_erases_one_person_on_the_invitations_page(study, owner_page):
    survey = study
    page = owner_page.get(f"/surveys/{survey.pk}/invitations/")
    assert b"Erase one person" in page.content and b"Erase all invitation" in page.content

    response = owner_page.post(
        f"/surveys/{survey.pk}/invitations/erase/",
        {"scope": "respondent", "one-respondent": BOB},
        follow=True,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert BOB not in html
    assert "1 invitation(s) and 1 response(s) changed" in html
    assert "One respondent" in html  # the audit list
    assert BOB not in database_text()


def test_the_page_refuses_unknown_people_and_a_wrong_title_and_changes_nothing(study, owner_page):
    survey = study
    before = snapshot()
    url = f"/surveys/{survey.pk}/invitations/erase/"

    unknown = owner_page.post(url, {"scope": "respondent", "one-respondent": "zoe@example.com"})
    wrong = owner_page.post(url, {"scope": "survey", "all-confirm": "Adoption"})

    assert unknown.status_code == 400
    assert "zoe@example.com" in unknown.content.decode()
    assert wrong.status_code == 400
    assert "not the survey&#x27;s title" in wrong.content.decode()
    assert snapshot() == before

    right = owner_page.post(url, {"scope": "survey", "all-confirm": " Adoption study "})
    assert right.status_code == 302
    assert ErasureRecord.objects.get().scope == ErasureScope.SURVEY


def test_researchers_and_viewers_cannot_erase_on_the_page_nor_see_the_forms(
    study, researcher, viewer, outsider
):
    survey = study
    before = snapshot()
    for user, expected in ((researcher, 403), (viewer, 403), (outsider, 404)):
        client = Client()
        client.force_login(user)
        response = client.post(
            f"/surveys/{survey.pk}/invitations/erase/",
            {"scope": "survey", "all-confirm": "Adoption study"},
        )
        assert response.status_code == expected
        page = client.get(f"/surveys/{survey.pk}/invitations/")
        if user == researcher:
            assert page.status_code == 200
            assert b"Erase one person" not in page.content
            assert b"Erasures" in page.content
        elif user == viewer:  # personal links are not for viewers (test_personal_links.py)
            assert page.status_code == 403
    anonymous = Client().post(f"/surveys/{survey.pk}/invitations/erase/", {"scope": "survey"})
    assert anonymous.status_code == 302  # to the login page
    assert snapshot() == before


# --- the command --------------------------------------------------------------------------------


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("erase_personal_data", *args, stdout=out)
    return out.getvalue()


def test_the_command_erases_checks_and_refuses(study, owner):
    survey = study
    pk = str(survey.pk)
    before = snapshot()
    with pytest.raises(CommandError, match="nobody"):
        command(pk, "--respondent", "nobody", "--by", "owner")
    with pytest.raises(CommandError, match="No user"):
        command(pk, "--respondent", CUST, "--by", "ghost")
    with pytest.raises(CommandError, match="--by"):
        command(pk, "--all")
    with pytest.raises(CommandError, match="No survey"):
        command("999999", "--all", "--by", "owner")
    assert snapshot() == before

    out = command(pk, "--respondent", CUST, "--by", "owner")
    assert "1 invitation(s), 1 response(s)" in out
    assert CUST not in database_text()
    assert "an erasure of this identifier" in command(pk, "--check", CUST)
    assert "No erasure" in command(pk, "--check", BOB)

    out = command(pk, "--all", "--by", "owner")
    assert "whole survey" in out
    assert "survey-wide" in command(pk, "--check", BOB)
    assert ErasureRecord.objects.filter(by=owner).count() == 2


def test_another_workspaces_survey_keeps_its_people(study, other_workspace):
    other_job = JobFactory(workspace=other_workspace, statement="Keep my own team's work on track")
    add_outcomes(other_job, ["Minimize the time it takes to see who is blocked on the team"])
    other = services.create_survey(workspace=other_workspace, job=other_job, title="Other")
    add_invitations(survey=other, people=[("", ALICE)])

    erasure.erase_survey_personal_data(survey=study, by=None)

    assert Invitation.objects.filter(survey=other, email=ALICE).exists()
    assert study.pk != other.pk


def test_an_imported_id_that_looks_like_a_pseudonym_never_clashes(study):
    survey = study
    alice = Response.objects.get(survey=survey, respondent_id=ALICE)
    bob = Response.objects.get(survey=survey, respondent_id=BOB)
    codes = survey.current_version.outcome_codes
    header = ["respondent_id", "role", *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]
    rows = [[f"erased-{r.pk}", "Lead", *(["3"] * 2 * len(codes))] for r in (alice, bob)]
    import_responses(
        survey=survey,
        data="\n".join(",".join(r) for r in (header, *rows)),
        options=ImportOptions(profile_columns=("role",)),
    )
    lookalike = Response.objects.get(survey=survey, respondent_id=f"erased-{alice.pk}")
    bobs_lookalike = Response.objects.get(survey=survey, respondent_id=f"erased-{bob.pk}")

    erasure.erase_respondent(survey=survey, respondent=ALICE, by=None)

    alice.refresh_from_db()
    assert alice.respondent_id.startswith(f"erased-{alice.pk}-")  # the import kept its id
    assert Response.objects.get(pk=lookalike.pk).respondent_id == f"erased-{alice.pk}"
    suffixed = alice.respondent_id

    erasure.erase_survey_personal_data(survey=survey, by=None)

    for response in (alice, lookalike, bob, bobs_lookalike):
        response.refresh_from_db()
    assert alice.respondent_id == suffixed
    # Bob takes the id the import gave another response, which moves to its own pseudonym.
    assert bob.respondent_id == f"erased-{bob.pk}"
    assert lookalike.respondent_id == f"erased-{lookalike.pk}"
    assert bobs_lookalike.respondent_id == f"erased-{bobs_lookalike.pk}"
    ids = list(survey.responses.values_list("respondent_id", flat=True))
    assert len(ids) == len(set(ids))
