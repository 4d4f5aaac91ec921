"""The catalogue pages, driven as a researcher with the test client: forms in, database out."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from jtbd.models import DesiredOutcome, Job, JobStep
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db

NEW_STATEMENT = "Minimize the time it takes to schedule the first training session for the team"
TOO_LONG = "Minimize the time it takes to " + "z" * 271  # 301 characters


@pytest.fixture
def web(client, researcher):
    client.force_login(researcher)
    return client


def counts() -> tuple[int, int, int]:
    return Job.objects.count(), JobStep.objects.count(), DesiredOutcome.objects.count()


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def outcome_data(step, statement=NEW_STATEMENT, code="", status="draft", **extra) -> dict:
    return {"step": step.pk, "statement": statement, "code": code, "status": status, **extra}


# --- jobs ---------------------------------------------------------------------------------------


def test_the_job_list_shows_the_workspaces_jobs_with_counts(web, job, other_workspace):
    JobFactory(workspace=other_workspace, statement="Someone else's job")
    response = web.get("/jobs/")
    assert response.status_code == 200
    assert [(j.pk, j.step_count, j.outcome_count) for j in response.context["jobs"]] == [
        (job.pk, 8, 3)
    ]
    assert "Someone else" not in response.content.decode()
    assert web.get("/").url == "/jobs/"


def test_creating_a_job_on_the_page_gives_it_the_universal_steps(web, workspace):
    assert web.get("/jobs/new/").status_code == 200
    response = web.post(
        "/jobs/new/",
        {"statement": "Onboard a new hire", "executor": "Team lead", "kind": "core_functional"},
        follow=True,
    )
    job = Job.objects.get()
    assert response.redirect_chain == [(job.get_absolute_url(), 302)]
    assert job.workspace == workspace
    assert list(job.steps.order_by("order").values_list("stage", flat=True)) == [
        "define",
        "locate",
        "prepare",
        "confirm",
        "execute",
        "monitor",
        "modify",
        "conclude",
    ]
    page = response.content.decode()
    assert "Job created with the eight universal job-map steps." in page
    assert "<h1>Onboard a new hire</h1>" in page


def test_a_job_form_with_errors_rerenders_and_creates_nothing(web, workspace):
    response = web.post("/jobs/new/", {"statement": "", "executor": "Lead", "kind": "weird"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"statement", "kind"}
    assert counts() == (0, 0, 0)


def test_editing_a_job_saves_it_and_refuses_a_cycle(web, workspace, job):
    parent = JobFactory(workspace=workspace, statement="Run the team well")
    response = web.post(
        f"/jobs/{job.pk}/edit/",
        {
            "statement": "Get the tool adopted",
            "executor": "Manager",
            "kind": "related",
            "parent": parent.pk,
            "notes": "n",
        },
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.statement, job.executor, job.kind, job.parent_id, job.notes) == (
        "Get the tool adopted",
        "Manager",
        "related",
        parent.pk,
        "n",
    )
    response = web.post(
        f"/jobs/{parent.pk}/edit/",
        {"statement": "Run the team well", "executor": "Lead", "kind": "related", "parent": job.pk},
    )
    assert response.status_code == 200
    assert "ancestor" in str(response.context["form"].errors["parent"])
    parent.refresh_from_db()
    assert parent.parent_id is None


def test_deleting_a_job_needs_its_statement_typed_exactly(web, job):
    response = web.post(f"/jobs/{job.pk}/delete/", {"confirm": job.statement.upper()})
    assert response.status_code == 302
    assert "Type the job statement exactly" in messages_of(response)[0]
    assert counts() == (1, 8, 3)
    assert web.get(f"/jobs/{job.pk}/delete/").status_code == 405
    response = web.post(f"/jobs/{job.pk}/delete/", {"confirm": job.statement})
    assert response.url == "/jobs/"
    assert counts() == (0, 0, 0)


# --- steps --------------------------------------------------------------------------------------


def test_adding_editing_and_moving_steps_on_the_pages(web, job):
    response = web.post(
        f"/jobs/{job.pk}/steps/new/",
        {"stage": "monitor", "title": "Check usage", "description": "Weekly"},
        follow=True,
    )
    assert "Step added at the end of the job map." in response.content.decode()
    step = job.steps.get(title="Check usage")
    assert (step.order, step.stage, step.description) == (9, "monitor", "Weekly")

    response = web.post(
        f"/steps/{step.pk}/edit/", {"stage": "modify", "title": "Adjust usage", "description": ""}
    )
    assert response.status_code == 302
    step.refresh_from_db()
    assert (step.stage, step.title, step.description) == ("modify", "Adjust usage", "")

    response = web.post(f"/steps/{step.pk}/move/", {"direction": "up"})
    assert response.url == f"{job.get_absolute_url()}#step-{step.pk}"
    step.refresh_from_db()
    assert step.order == 8
    assert job.steps.get(stage="conclude").order == 9
    web.post(f"/steps/{step.pk}/move/", {"direction": "down"})
    step.refresh_from_db()
    assert step.order == 9


def test_a_step_form_with_a_bad_stage_rerenders(web, job):
    response = web.post(f"/jobs/{job.pk}/steps/new/", {"stage": "dream", "title": "Dream"})
    assert response.status_code == 200
    assert "stage" in response.context["form"].errors
    assert job.steps.count() == 8


def test_deleting_an_empty_step_renumbers_the_rest(web, job):
    empty = job.steps.get(stage="prepare")
    response = web.post(f"/steps/{empty.pk}/delete/")
    assert response.url == job.get_absolute_url()
    assert not JobStep.objects.filter(pk=empty.pk).exists()
    assert list(job.steps.order_by("order").values_list("order", flat=True)) == list(range(1, 8))


def test_deleting_a_step_with_outcomes_is_refused_with_a_message(web, job):
    step = job.steps.get(stage="define")
    response = web.post(f"/steps/{step.pk}/delete/", follow=True)
    assert response.status_code == 200
    assert "still has 3 outcomes: move or delete them first" in response.content.decode()
    assert counts() == (1, 8, 3)


# --- outcomes -----------------------------------------------------------------------------------


def test_adding_an_outcome_on_the_page_assigns_the_next_code(web, job):
    step = job.steps.get(stage="locate")
    assert web.get(f"/jobs/{job.pk}/outcomes/new/?step={step.pk}").status_code == 200
    response = web.post(f"/jobs/{job.pk}/outcomes/new/", outcome_data(step))
    outcome = job.outcomes.get(code="O004")
    assert response.url == f"{job.get_absolute_url()}#outcome-{outcome.pk}"
    assert (outcome.step_id, outcome.status, outcome.direction, outcome.metric) == (
        step.pk,
        "draft",
        "Minimize",
        "the time it takes to",
    )
    assert messages_of(response) == ["Outcome O004 added."]


def test_save_and_add_another_returns_to_the_form_for_the_same_step(web, job):
    step = job.steps.get(stage="locate")
    response = web.post(f"/jobs/{job.pk}/outcomes/new/", outcome_data(step, next="another"))
    assert response.url == f"/jobs/{job.pk}/outcomes/new/?step={step.pk}"
    assert job.outcomes.count() == 4


@pytest.mark.parametrize("statement", ["", "   ", TOO_LONG], ids=["empty", "blank", "301-chars"])
def test_a_blocking_statement_shows_a_form_error_and_saves_nothing(web, job, statement):
    response = web.post(
        f"/jobs/{job.pk}/outcomes/new/", outcome_data(job.steps.first(), statement=statement)
    )
    assert response.status_code == 200
    assert "statement" in response.context["form"].errors
    assert 'id="error-summary"' in response.content.decode()
    assert counts() == (1, 8, 3)


def test_an_outcome_with_only_warnings_is_saved(web, job, workspace):
    workspace.solution_words = "Acme Hub"
    workspace.save()
    response = web.post(
        f"/jobs/{job.pk}/outcomes/new/",
        outcome_data(job.steps.first(), statement="Make Acme Hub easy to use"),
    )
    assert response.status_code == 302
    outcome = job.outcomes.get(code="O004")
    page = web.get(job.get_absolute_url()).content.decode()
    assert "Solution word &quot;Acme Hub&quot;" in page
    assert outcome.statement in page


def test_duplicate_and_malformed_codes_are_form_errors(web, job):
    step = job.steps.first()
    for code in ("O001", "bad code!"):
        response = web.post(f"/jobs/{job.pk}/outcomes/new/", outcome_data(step, code=code))
        assert response.status_code == 200
        assert "code" in response.context["form"].errors, code
    assert counts() == (1, 8, 3)


def test_editing_an_outcome_reparses_it_and_keeps_other_outcomes(web, job):
    outcome = job.outcomes.get(code="O002")
    assert NEW_STATEMENT not in web.get(f"/outcomes/{outcome.pk}/edit/").content.decode()
    other_step = job.steps.get(stage="conclude")
    response = web.post(
        f"/outcomes/{outcome.pk}/edit/",
        outcome_data(
            other_step,
            statement="Increase the accuracy of the weekly adoption report, e.g., per person",
            code="ADOPT-2",
            status="approved",
        ),
    )
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert (outcome.code, outcome.step_id, outcome.status, outcome.order) == (
        "ADOPT-2",
        other_step.pk,
        "approved",
        1,
    )
    assert (outcome.direction, outcome.metric, outcome.clarifier) == (
        "Increase",
        "the accuracy of",
        "e.g., per person",
    )
    assert sorted(job.outcomes.values_list("code", flat=True)) == ["ADOPT-2", "O001", "O003"]


def test_editing_an_outcome_to_a_used_code_or_blank_statement_changes_nothing(web, job):
    outcome = job.outcomes.get(code="O002")
    before = (outcome.code, outcome.statement)
    for data in (
        outcome_data(outcome.step, statement=outcome.statement, code="O003"),
        outcome_data(outcome.step, statement=" ", code="O002"),
    ):
        response = web.post(f"/outcomes/{outcome.pk}/edit/", data)
        assert response.status_code == 200
        assert response.context["form"].errors
    outcome.refresh_from_db()
    assert (outcome.code, outcome.statement) == before


def test_moving_approving_and_deleting_outcomes_on_the_pages(web, job):
    step = job.steps.first()

    def codes():
        return list(step.outcomes.order_by("order").values_list("code", flat=True))

    o3 = job.outcomes.get(code="O003")
    web.post(f"/outcomes/{o3.pk}/move/", {"direction": "up"})
    assert codes() == ["O001", "O003", "O002"]
    web.post(f"/outcomes/{o3.pk}/move/", {"direction": "down"})
    assert codes() == ["O001", "O002", "O003"]

    DesiredOutcome.objects.filter(job=job).update(status="draft")
    response = web.post(f"/outcomes/{o3.pk}/approve/")
    assert messages_of(response)[-1] == "Outcome O003 approved."
    assert list(job.outcomes.order_by("code").values_list("status", flat=True)) == [
        "draft",
        "draft",
        "approved",
    ]
    response = web.post(f"/jobs/{job.pk}/approve-all/")
    assert messages_of(response)[-1] == "2 draft outcomes approved."
    assert set(job.outcomes.values_list("status", flat=True)) == {"approved"}

    response = web.post(f"/outcomes/{o3.pk}/delete/")
    assert response.url == job.get_absolute_url()
    assert codes() == ["O001", "O002"]


def test_the_job_page_shows_steps_outcomes_and_totals(web, job):
    response = web.get(job.get_absolute_url())
    assert response.status_code == 200
    context = response.context
    assert (context["outcome_total"], context["approved_total"], context["empty_steps"]) == (
        3,
        3,
        7,
    )
    assert [len(s.outcome_list) for s in context["steps"]] == [3, 0, 0, 0, 0, 0, 0, 0]
    page = response.content.decode()
    for outcome in job.outcomes.all():
        assert outcome.statement in page
        assert reverse("jtbd:outcome-edit", args=[outcome.pk]) in page


# --- statement check and workspace settings ----------------------------------------------------


def test_the_statement_check_page_shows_findings(web, job):
    response = web.post(f"/jobs/{job.pk}/check/", {"statement": "Make the dashboard easy and fast"})
    assert response.status_code == 200
    codes = {f.code for f in response.context["check"].findings}
    assert {"unknown_direction", "missing_metric", "solution_word", "vague_word"} <= codes
    assert "Solution word &quot;dashboard&quot;" in response.content.decode()
    empty = web.post(f"/jobs/{job.pk}/check/", {"statement": ""})
    assert empty.context["check"].blocking
    assert web.get(f"/jobs/{job.pk}/check/").context["check"] is None


def test_workspace_solution_words_are_saved_and_used_by_the_check(web, workspace, job):
    response = web.post("/workspace/", {"solution_words": "Acme Hub\nAcme Academy\n"})
    assert response.url == "/workspace/"
    workspace.refresh_from_db()
    assert workspace.solution_word_list() == ["Acme Hub", "Acme Academy"]
    response = web.post(
        f"/jobs/{job.pk}/check/",
        {"statement": "Minimize the time it takes to find a course in Acme Academy"},
    )
    assert [(f.code, f.detail) for f in response.context["check"].findings] == [
        ("solution_word", "Acme Academy")
    ]
