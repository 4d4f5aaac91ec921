"""Catalogue import and export: JSON round trips with full fidelity, CSV round trips the
outcomes, and a bad file is refused as a whole with every problem listed."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jtbd import services
from jtbd.catalogue import FORMAT_NAME
from jtbd.models import DesiredOutcome, Job, JobStep, OutcomeStatus
from tests.factories import JobFactory, MembershipFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db


TOO_LONG = "Minimize the time it takes to " + "z" * 271  # 301 characters


def counts() -> tuple[int, int, int]:
    return Job.objects.count(), JobStep.objects.count(), DesiredOutcome.objects.count()


@pytest.fixture
def both(researcher, other_workspace):
    """The researcher is also a researcher of the other workspace."""
    MembershipFactory(workspace=other_workspace, user=researcher, role=Role.RESEARCHER)
    return researcher


@pytest.fixture
def rich_job(workspace):
    """A catalogue exercising everything an export carries."""
    job = services.create_job(
        workspace=workspace,
        statement="Get a newly purchased tool adopted across my team",
        executor="Team lead",
        kind="related",
        notes="Interview notes:\nline two — with “quotes” and ünïcode",
    )
    steps = list(job.steps.order_by("order"))
    services.reorder_steps(job=job, step_ids=[s.pk for s in [steps[1], steps[0], *steps[2:]]])
    extra = services.add_step(job=job, stage="monitor", title="Check usage", description="Weekly")
    JobStep.objects.filter(pk=steps[2].pk).update(description="=Custom description")
    add = services.add_outcome
    a = add(step=steps[0], statement="Minimize the time it takes to agree on adoption goals")
    add(step=steps[0], statement="Minimize the likelihood that goals conflict, e.g., with OKRs")
    add(step=steps[1], statement="+Minimize the number of tools the team must check", code="X.1")
    add(
        step=extra,
        statement="Make the dashboard easy",  # flagged, approved deliberately
        status=OutcomeStatus.APPROVED,
        code="legacy_7",
        confirm_flagged=True,
    )
    add(step=extra, statement="Minimize the time it takes to see who has not logged work")
    services.move_outcome(outcome=a, offset=1)  # order inside the step differs from id order
    return job


# --- JSON ---------------------------------------------------------------------------------------


def test_json_export_imports_into_another_workspace_and_exports_identically(
    api_as, both, rich_job, other_workspace
):
    api = api_as(both)
    first = api.get(f"/api/jobs/{rich_job.pk}/export/json/")
    assert first.status_code == 200
    assert "attachment" in first["Content-Disposition"]
    exported = first.json()
    assert exported["format"] == FORMAT_NAME
    assert len(exported["steps"]) == 9
    assert [s["stage"] for s in exported["steps"]][:2] == ["locate", "define"]
    assert [o["code"] for o in exported["steps"][0]["outcomes"]] == ["X.1"]
    assert [o["code"] for o in exported["steps"][1]["outcomes"]] == ["O002", "O001"]
    assert exported["steps"][8]["outcomes"][0]["status"] == "approved"

    before = counts()
    response = api.post(
        f"/api/jobs/import/?workspace={other_workspace.pk}", exported, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["steps"], body["outcomes"]) == (9, 5)
    # Approved in the file although the check flags it: kept, and named.
    assert body["notes"] == [
        "1 outcome marked approved in the file is flagged by the statement check (legacy_7); "
        "it stays approved: see why on the job page."
    ]
    assert counts() == (before[0] + 1, before[1] + 9, before[2] + 5)
    imported = Job.objects.get(pk=body["job"])
    assert imported.workspace == other_workspace

    again = api.get(f"/api/jobs/{imported.pk}/export/json/").json()
    assert again == exported


def test_the_page_export_and_import_round_trip_too(client, both, rich_job, other_workspace):
    client.force_login(both)
    response = client.get(f"/jobs/{rich_job.pk}/export.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    exported = json.loads(response.content)
    client.post("/workspace/switch/", {"workspace": other_workspace.pk})
    upload = SimpleUploadedFile("c.json", response.content, content_type="application/json")
    response = client.post("/jobs/import/", {"file": upload})
    assert response.status_code == 302
    imported = Job.objects.exclude(pk=rich_job.pk).get()
    assert imported.workspace == other_workspace
    assert response["Location"] == imported.get_absolute_url()
    assert json.loads(client.get(f"/jobs/{imported.pk}/export.json").content) == exported


def test_a_parent_is_kept_in_the_same_workspace_and_dropped_with_a_note_elsewhere(
    api_as, both, workspace, other_workspace
):
    parent = JobFactory(workspace=workspace, statement="Run the team well")
    child = JobFactory(workspace=workspace, statement="Get a tool adopted")
    child.parent = parent
    child.save()
    api = api_as(both)
    exported = api.get(f"/api/jobs/{child.pk}/export/json/").json()
    assert exported["job"]["parent"] == "Run the team well"

    same = api.post(f"/api/jobs/import/?workspace={workspace.pk}", exported, format="json")
    assert same.status_code == 201 and same.json()["notes"] == []
    assert Job.objects.get(pk=same.json()["job"]).parent == parent

    other = api.post(f"/api/jobs/import/?workspace={other_workspace.pk}", exported, format="json")
    assert other.status_code == 201
    assert "not in this workspace" in other.json()["notes"][0]
    assert Job.objects.get(pk=other.json()["job"]).parent is None


def _bad_json() -> dict:
    return {
        "format": "some-other-tool",
        "version": 1,
        "job": {"statement": "Get a tool adopted", "executor": "Team lead", "kind": "magical"},
        "steps": [
            {
                "stage": "dream",
                "title": "Dream",
                "outcomes": [
                    {"code": "O001", "statement": "Minimize the time it takes to plan"},
                    {"statement": "Minimize the number of handovers"},
                    {"code": "O001", "statement": "Minimize the number of meetings"},
                ],
            },
            {
                "stage": "define",
                "title": "Define",
                "outcomes": [
                    {"code": "O002", "statement": "   "},
                    {"code": "O003", "statement": "Minimize the risk of churn", "status": "live"},
                    {"code": "bad code!", "statement": "Minimize the number of reminders"},
                    {"code": "O005", "statement": TOO_LONG},
                ],
            },
        ],
    }


BAD_JSON_PROBLEMS = {
    ("file", "format"),
    ("job", "kind"),
    ("steps[0]", "stage"),
    ("steps[0].outcomes[1]", "code"),
    ("steps[0].outcomes[2]", "code"),
    ("steps[1].outcomes[0]", "statement"),
    ("steps[1].outcomes[1]", "status"),
    ("steps[1].outcomes[2]", "code"),
    ("steps[1].outcomes[3]", "statement"),
}


def test_a_json_file_with_many_problems_is_refused_listing_every_problem(
    api_as, researcher, workspace, job
):
    before = counts()
    response = api_as(researcher).post(
        f"/api/jobs/import/?workspace={workspace.pk}", _bad_json(), format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert "nothing was imported" in body["detail"]
    problems = body["problems"]
    assert {(p["where"], p["field"]) for p in problems} == BAD_JSON_PROBLEMS
    assert len(problems) == len(BAD_JSON_PROBLEMS)
    assert all(p["message"] for p in problems)
    duplicate = next(p for p in problems if p["where"] == "steps[0].outcomes[2]")
    assert "steps[0].outcomes[0]" in duplicate["message"]
    assert counts() == before


def test_the_import_page_shows_every_problem_with_status_400(client, researcher, job):
    client.force_login(researcher)
    before = counts()
    upload = SimpleUploadedFile("bad.json", json.dumps(_bad_json()).encode())
    response = client.post("/jobs/import/", {"file": upload})
    assert response.status_code == 400
    page = response.content.decode()
    assert f"{len(BAD_JSON_PROBLEMS)} problems: nothing was imported" in page
    for where, field in BAD_JSON_PROBLEMS:
        assert f"<strong>{where}</strong>, <code>{field}</code>" in page
    assert counts() == before


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"format": "opportunity-engine.catalogue", "steps": [', "json"),
        (b'{"format": "opportunity-engine.catalogue\xff\xfe"}', "encoding"),
        (b"[1, 2, 3]", "document"),
        (b"", "json"),
    ],
    ids=["truncated", "not-utf8", "not-an-object", "empty"],
)
def test_malformed_json_files_get_a_clear_400_on_the_api_and_the_page(
    api_as, client, researcher, workspace, raw, field
):
    before = counts()
    api = api_as(researcher)
    response = api.generic(
        "POST", f"/api/jobs/import/?workspace={workspace.pk}", raw, "application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] or response.json()["problems"]

    client.force_login(researcher)
    response = client.post("/jobs/import/", {"file": SimpleUploadedFile("x.json", raw)})
    if raw == b"":
        # An empty upload is refused by the form itself ("The submitted file is empty").
        assert response.status_code == 200
        assert "file" in response.context["form"].errors
    else:
        assert response.status_code == 400
        assert [p.field for p in response.context["problems"]] == [field]
    assert counts() == before


# --- CSV ----------------------------------------------------------------------------------------


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_imports_into_an_empty_job_with_the_same_outcomes(
    api_as, researcher, workspace, rich_job
):
    api = api_as(researcher)
    response = api.get(f"/api/jobs/{rich_job.pk}/export/csv/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    first = response.content.decode()
    rows = _rows(first)
    assert rows[0] == ["stage", "step_title", "code", "statement", "status", "step_description"]
    assert len(rows) == 6

    target = JobFactory(
        workspace=workspace, statement="Copy of the catalogue", universal_steps=False
    )
    upload = SimpleUploadedFile("c.csv", response.content, content_type="text/csv")
    response = api.post(f"/api/jobs/{target.pk}/import-csv/", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    assert (response.json()["outcomes"], response.json()["steps"]) == (5, 3)

    def outcomes(job):
        return list(
            job.outcomes.order_by("step__order", "order").values_list(
                "step__stage",
                "step__title",
                "step__description",
                "code",
                "statement",
                "status",
                "direction",
                "metric",
                "object_of_control",
                "clarifier",
            )
        )

    assert outcomes(target) == outcomes(rich_job)
    assert api.get(f"/api/jobs/{target.pk}/export/csv/").content.decode() == first


def test_csv_rows_are_added_to_existing_steps_matched_by_stage_and_title(api_as, researcher, job):
    define = job.steps.get(stage="define")
    body = (
        "stage,step_title,code,statement,status\r\n"
        "define,Define,N1,Minimize the time it takes to name an owner,approved\r\n"
        "define,Define goals,N2,Minimize the time it takes to write goals,\r\n"
    )
    response = api_as(researcher).post(
        f"/api/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", body.encode())},
        format="multipart",
    )
    assert response.status_code == 201
    n1, n2 = job.outcomes.get(code="N1"), job.outcomes.get(code="N2")
    assert (n1.step_id, n1.order, n1.status) == (define.pk, 4, "approved")
    assert (n2.step.title, n2.step.order, n2.status) == ("Define goals", 9, "draft")
    assert job.steps.count() == 9


# A spreadsheet's extra columns, and an optional column misspelt: read nothing from them, say so.
EXTRA_COLUMNS_CSV = (
    "stage,step_title,code,statement,Owner,step_descripton\r\n"
    "define,Define,N1,Minimize the time it takes to name an owner,Dana,Who decides\r\n"
)


def test_the_csv_import_api_names_the_columns_it_ignored(api_as, researcher, job):
    response = api_as(researcher).post(
        f"/api/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", EXTRA_COLUMNS_CSV.encode())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ignored_columns"] == ["Owner", "step_descripton"]
    assert job.outcomes.filter(code="N1").exists()


def test_the_csv_import_page_names_the_columns_it_ignored(client, researcher, job):
    client.force_login(researcher)
    response = client.post(
        f"/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", EXTRA_COLUMNS_CSV.encode())},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported 1 outcome." in page
    assert "Ignored columns: Owner, step_descripton" in page


def test_the_csv_import_page_names_approved_rows_the_check_flags(client, researcher, job):
    client.force_login(researcher)
    body = (
        "stage,step_title,code,statement,status\r\n"
        "define,Define,N1,Minimize the time it takes to name an owner,approved\r\n"
        "define,Define,N2,Make the dashboard easy,approved\r\n"
        "define,Define,N3,Make the report nice,draft\r\n"
    )
    response = client.post(
        f"/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", body.encode())},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Imported 3 outcomes." in page
    assert "1 outcome marked approved in the file is flagged by the statement check (N2)" in page
    assert job.outcomes.get(code="N2").status == OutcomeStatus.APPROVED


def test_a_csv_import_with_only_known_columns_ignores_none(api_as, researcher, job):
    body = "stage,step_title,code,statement\r\ndefine,Define,N1,Minimize the time it takes\r\n"
    response = api_as(researcher).post(
        f"/api/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", body.encode())},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    assert response.json()["ignored_columns"] == []


BAD_CSV = (
    "stage,step_title,code,statement,status\r\n"
    "dream,Dream,N1,Minimize the time it takes to plan,draft\r\n"
    "define,Define,,Minimize the number of handovers,draft\r\n"
    "define,Define,N3,Minimize the number of meetings,\r\n"
    "define,Define,N3,Minimize the number of calls,\r\n"
    "define,Define,N5,   ,\r\n"
    "define,Define,N6,Minimize the risk of churn,live\r\n"
    "define,Define,bad code!,Minimize the number of reminders,\r\n"
    f"define,Define,N8,{TOO_LONG},\r\n"
    "define,,N9,Minimize the number of escalations,\r\n"
    "define,Define,O002,Minimize the number of surprises,\r\n"
    "define,Define,N11,Minimize the number of retries,draft,extra cell\r\n"
)
BAD_CSV_PROBLEMS = {
    ("row 2", "stage"),
    ("row 3", "code"),
    ("row 5", "code"),
    ("row 6", "statement"),
    ("row 7", "status"),
    ("row 8", "code"),
    ("row 9", "statement"),
    ("row 10", "step_title"),
    ("row 11", "code"),
    ("row 12", "row"),
}


def test_a_csv_file_with_many_problems_is_refused_listing_every_problem(api_as, researcher, job):
    before = counts()
    response = api_as(researcher).post(
        f"/api/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("bad.csv", BAD_CSV.encode())},
        format="multipart",
    )
    assert response.status_code == 400
    problems = response.json()["problems"]
    assert {(p["where"], p["field"]) for p in problems} == BAD_CSV_PROBLEMS
    assert len(problems) == len(BAD_CSV_PROBLEMS)
    assert counts() == before


def test_the_csv_import_page_shows_every_problem_with_status_400(client, researcher, job):
    client.force_login(researcher)
    before = counts()
    response = client.post(
        f"/jobs/{job.pk}/import-csv/", {"file": SimpleUploadedFile("bad.csv", BAD_CSV.encode())}
    )
    assert response.status_code == 400
    page = response.content.decode()
    for where, field in BAD_CSV_PROBLEMS:
        assert f"<strong>{where}</strong>, <code>{field}</code>" in page
    assert counts() == before


@pytest.mark.parametrize(
    ("raw", "problems"),
    [
        (b"stage,code\r\ndefine,N1\r\n", {("row 1", "step_title"), ("row 1", "statement")}),
        (b"stage,step_title,code,statement\r\n", {("file", "rows")}),
        (b"stage,step_title,code,statement\r\ndefine,D\xe9fine,N1,x\r\n", {("file", "encoding")}),
    ],
    ids=["missing-columns", "no-rows", "not-utf8"],
)
def test_structurally_bad_csv_files_get_a_clear_400(api_as, researcher, job, raw, problems):
    before = counts()
    response = api_as(researcher).post(
        f"/api/jobs/{job.pk}/import-csv/",
        {"file": SimpleUploadedFile("bad.csv", raw)},
        format="multipart",
    )
    assert response.status_code == 400
    assert {(p["where"], p["field"]) for p in response.json()["problems"]} == problems
    assert counts() == before


def test_a_csv_import_without_a_file_is_400(api_as, researcher, job):
    response = api_as(researcher).post(f"/api/jobs/{job.pk}/import-csv/", {}, format="multipart")
    assert response.status_code == 400
    assert "file" in response.json()


# --- formula injection --------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@"])
def test_formula_cells_are_neutralised_in_csv_and_restored_on_import(
    api_as, researcher, workspace, prefix
):
    statement = f"{prefix}Minimize the time it takes to find the onboarding checklist"
    source = JobFactory(workspace=workspace, statement="Source job")
    step = services.add_step(job=source, stage="define", title=f"{prefix}SUM(A1:A9)")
    services.add_outcome(step=step, statement=statement)
    api = api_as(researcher)
    exported = api.get(f"/api/jobs/{source.pk}/export/csv/").content
    row = _rows(exported.decode())[1]
    assert row[1] == f"'{prefix}SUM(A1:A9)"
    assert row[3] == "'" + statement

    target = JobFactory(workspace=workspace, statement="Target job", universal_steps=False)
    response = api.post(
        f"/api/jobs/{target.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", exported)},
        format="multipart",
    )
    assert response.status_code == 201
    outcome = target.outcomes.get()
    assert outcome.statement == statement
    assert outcome.step.title == f"{prefix}SUM(A1:A9)"


def test_a_statement_that_starts_with_an_apostrophe_survives_the_csv_round_trip(
    api_as, researcher, workspace
):
    statement = "'=Minimize the number of cells a spreadsheet user must retype"
    source = JobFactory(workspace=workspace, statement="Source job")
    services.add_outcome(step=source.steps.first(), statement=statement)
    api = api_as(researcher)
    exported = api.get(f"/api/jobs/{source.pk}/export/csv/").content
    target = JobFactory(workspace=workspace, statement="Target job", universal_steps=False)
    response = api.post(
        f"/api/jobs/{target.pk}/import-csv/",
        {"file": SimpleUploadedFile("c.csv", exported)},
        format="multipart",
    )
    assert response.status_code == 201
    assert target.outcomes.get().statement == statement
