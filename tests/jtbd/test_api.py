"""The catalogue REST API: jobs, steps, outcomes and the statement check, as a researcher."""

from __future__ import annotations

import pytest

from jtbd.models import UNIVERSAL_JOB_MAP, DesiredOutcome, Job, JobStep, Stage
from tests.factories import JobFactory, MembershipFactory

pytestmark = pytest.mark.django_db


STAGES_IN_ORDER = [
    "define",
    "locate",
    "prepare",
    "confirm",
    "execute",
    "monitor",
    "modify",
    "conclude",
]
NEW_STATEMENT = "Minimize the time it takes to schedule the first training session for the team"


def counts() -> tuple[int, int, int]:
    return Job.objects.count(), JobStep.objects.count(), DesiredOutcome.objects.count()


@pytest.fixture
def api(api_as, researcher):
    return api_as(researcher)


def step_rows(job: Job) -> list[tuple[str, str, int]]:
    return list(job.steps.order_by("order").values_list("stage", "title", "order"))


# --- jobs ---------------------------------------------------------------------------------------


def test_creating_a_job_gives_it_the_eight_universal_steps_in_order(api, workspace):
    response = api.post(
        "/api/jobs/",
        {
            "workspace": workspace.pk,
            "statement": "  Onboard a new hire onto the team  ",
            "executor": "Team lead",
            "kind": "related",
            "notes": "From interviews",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    job = Job.objects.get(pk=body["id"])
    assert (job.workspace, job.statement, job.kind, job.notes) == (
        workspace,
        "Onboard a new hire onto the team",
        "related",
        "From interviews",
    )
    assert body["step_count"] == 8 and body["outcome_count"] == 0
    assert step_rows(job) == [
        (stage, title, i) for i, (stage, title, _) in enumerate(UNIVERSAL_JOB_MAP, start=1)
    ]
    assert [s for s, _, _ in step_rows(job)] == STAGES_IN_ORDER


def test_creating_a_job_with_a_blank_statement_or_bad_kind_is_400_and_creates_nothing(
    api, workspace
):
    before = counts()
    for bad in ({"statement": "   "}, {"kind": "mystical"}, {"executor": ""}):
        body = {
            "workspace": workspace.pk,
            "statement": "Onboard a new hire",
            "executor": "Team lead",
            "kind": "related",
            **bad,
        }
        response = api.post("/api/jobs/", body, format="json")
        assert response.status_code == 400
        assert set(response.json()) == set(bad)
    assert counts() == before


def test_a_job_can_be_renamed_and_deleted(api, job):
    response = api.patch(f"/api/jobs/{job.pk}/", {"statement": "Roll out a tool"}, format="json")
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.statement == "Roll out a tool"
    assert api.delete(f"/api/jobs/{job.pk}/").status_code == 204
    assert counts() == (0, 0, 0)


def test_a_job_cannot_be_its_own_ancestor(api, workspace, job):
    child = JobFactory(workspace=workspace, statement="Train the team on the tool")
    assert api.patch(f"/api/jobs/{child.pk}/", {"parent": job.pk}, format="json").status_code == 200
    response = api.patch(f"/api/jobs/{job.pk}/", {"parent": child.pk}, format="json")
    assert response.status_code == 400
    assert "ancestor" in str(response.json()["parent"])
    job.refresh_from_db()
    assert job.parent_id is None


def test_a_job_cannot_move_to_another_workspace(api, researcher, job, other_workspace):
    MembershipFactory(workspace=other_workspace, user=researcher)
    response = api.patch(f"/api/jobs/{job.pk}/", {"workspace": other_workspace.pk}, format="json")
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.workspace_id != other_workspace.pk


# --- steps --------------------------------------------------------------------------------------


def test_steps_can_be_renamed_added_moved_reordered_and_deleted(api, job):
    steps = list(job.steps.order_by("order"))
    response = api.patch(f"/api/steps/{steps[2].pk}/", {"title": "Set up workspace"}, format="json")
    assert response.status_code == 200
    assert JobStep.objects.get(pk=steps[2].pk).title == "Set up workspace"

    response = api.post(
        "/api/steps/",
        {"job": job.pk, "stage": "monitor", "title": "Check usage", "description": "Weekly"},
        format="json",
    )
    assert response.status_code == 201
    added = JobStep.objects.get(pk=response.json()["id"])
    assert (added.order, added.stage, added.description) == (9, "monitor", "Weekly")

    assert (
        api.post(f"/api/steps/{added.pk}/move/", {"offset": -1}, format="json").status_code == 204
    )
    assert [s.pk for s in job.steps.order_by("order")][-2:] == [added.pk, steps[7].pk]

    new_order = [s.pk for s in job.steps.order_by("order")][::-1]
    response = api.post(
        f"/api/jobs/{job.pk}/reorder-steps/", {"step_ids": new_order}, format="json"
    )
    assert response.status_code == 204
    assert list(job.steps.order_by("order").values_list("pk", "order")) == [
        (pk, i) for i, pk in enumerate(new_order, start=1)
    ]

    empty = steps[4]
    assert api.delete(f"/api/steps/{empty.pk}/").status_code == 204
    assert not JobStep.objects.filter(pk=empty.pk).exists()
    assert list(job.steps.order_by("order").values_list("order", flat=True)) == list(range(1, 9))


def test_reordering_with_a_missing_or_foreign_step_is_400_and_changes_nothing(
    api, job, other_workspace
):
    foreign = JobFactory(workspace=other_workspace).steps.first()
    before = step_rows(job)
    ids = [s.pk for s in job.steps.order_by("order")]
    for bad in (ids[:-1], [*ids[:-1], foreign.pk], [*ids, ids[0]]):
        response = api.post(f"/api/jobs/{job.pk}/reorder-steps/", {"step_ids": bad}, format="json")
        assert response.status_code == 400
    assert step_rows(job) == before


def test_a_step_with_a_bad_stage_is_400(api, job):
    before = counts()
    response = api.post(
        "/api/steps/", {"job": job.pk, "stage": "dream", "title": "Dream"}, format="json"
    )
    assert response.status_code == 400
    assert "stage" in response.json()
    assert counts() == before


def test_a_step_cannot_move_to_another_job(api, workspace, job):
    other = JobFactory(workspace=workspace)
    step = job.steps.first()
    response = api.patch(f"/api/steps/{step.pk}/", {"job": other.pk}, format="json")
    assert response.status_code == 400
    assert JobStep.objects.get(pk=step.pk).job_id == job.pk


def test_deleting_a_step_that_has_outcomes_is_400_with_a_message_and_keeps_it(api, job):
    step = job.steps.order_by("order").first()
    assert step.outcomes.count() == 3
    before = counts()
    response = api.delete(f"/api/steps/{step.pk}/")
    assert response.status_code == 400
    assert "still has 3 outcomes" in str(response.json())
    assert counts() == before
    assert JobStep.objects.filter(pk=step.pk).exists()


# --- outcomes -----------------------------------------------------------------------------------


def test_adding_an_outcome_assigns_the_next_code_and_fills_the_parsed_parts(api, job):
    step = job.steps.order_by("order")[1]
    response = api.post(
        "/api/outcomes/",
        {"step": step.pk, "statement": NEW_STATEMENT + ", e.g., in the first week"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["code"] == "O004"
    assert body["findings"] == []
    outcome = DesiredOutcome.objects.get(pk=body["id"])
    assert (outcome.job_id, outcome.step_id, outcome.status, outcome.order) == (
        job.pk,
        step.pk,
        "draft",
        1,
    )
    assert outcome.direction == "Minimize"
    assert outcome.metric == "the time it takes to"
    assert outcome.object_of_control == "schedule the first training session for the team"
    assert outcome.clarifier == "e.g., in the first week"

    second = api.post(
        "/api/outcomes/",
        {"step": step.pk, "statement": "Minimize the number of tickets raised about access rights"},
        format="json",
    )
    assert (second.json()["code"], second.json()["order"]) == ("O005", 2)


def test_a_gap_left_by_a_deleted_outcome_is_not_reused(api, job):
    middle = job.outcomes.get(code="O002")
    assert api.delete(f"/api/outcomes/{middle.pk}/").status_code == 204
    response = api.post(
        "/api/outcomes/", {"step": middle.step_id, "statement": NEW_STATEMENT}, format="json"
    )
    assert response.json()["code"] == "O004"
    assert sorted(job.outcomes.values_list("code", flat=True)) == ["O001", "O003", "O004"]


def test_an_outcome_with_an_explicit_code_keeps_it_and_a_duplicate_code_is_400(api, job):
    step = job.steps.first()
    response = api.post(
        "/api/outcomes/",
        {"step": step.pk, "statement": NEW_STATEMENT, "code": "ADOPT-1"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["code"] == "ADOPT-1"
    before = counts()
    for code in ("ADOPT-1", "O002"):
        response = api.post(
            "/api/outcomes/",
            {"step": step.pk, "statement": "Minimize the number of logins", "code": code},
            format="json",
        )
        assert response.status_code == 400
        assert "already used" in str(response.json()["code"])
    response = api.post(
        "/api/outcomes/",
        {"step": step.pk, "statement": NEW_STATEMENT + " again", "code": "bad code!"},
        format="json",
    )
    assert response.status_code == 400
    assert "code" in response.json()
    assert counts() == before


def test_updating_the_statement_reparses_it(api, job):
    outcome = job.outcomes.get(code="O001")
    response = api.patch(
        f"/api/outcomes/{outcome.pk}/",
        {"statement": "Reduce the likelihood that a team member loses work while migrating"},
        format="json",
    )
    assert response.status_code == 200
    outcome.refresh_from_db()
    assert (outcome.direction, outcome.metric, outcome.object_of_control, outcome.clarifier) == (
        "Reduce",
        "the likelihood that",
        "a team member loses work",
        "while migrating",
    )
    assert outcome.code == "O001"


def test_renaming_a_code_to_one_in_use_is_400_and_changes_nothing(api, job):
    outcome = job.outcomes.get(code="O001")
    response = api.patch(f"/api/outcomes/{outcome.pk}/", {"code": "O002"}, format="json")
    assert response.status_code == 400
    outcome.refresh_from_db()
    assert outcome.code == "O001"
    response = api.patch(f"/api/outcomes/{outcome.pk}/", {"code": "KEEP-1"}, format="json")
    assert response.status_code == 200
    outcome.refresh_from_db()
    assert outcome.code == "KEEP-1"


def test_outcomes_can_be_approved_moved_between_steps_and_within_a_step(api, job):
    steps = list(job.steps.order_by("order"))
    draft = api.post(
        "/api/outcomes/", {"step": steps[0].pk, "statement": NEW_STATEMENT}, format="json"
    ).json()
    assert draft["status"] == "draft"
    response = api.post(f"/api/outcomes/{draft['id']}/approve/")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert DesiredOutcome.objects.get(pk=draft["id"]).status == "approved"

    # Move it up within its step: from last (4th) to 3rd.
    assert (
        api.post(f"/api/outcomes/{draft['id']}/move/", {"offset": -1}, format="json").status_code
        == 204
    )
    assert list(steps[0].outcomes.order_by("order").values_list("code", flat=True)) == [
        "O001",
        "O002",
        "O004",
        "O003",
    ]
    # Move it to another step of the same job: it goes to the end there.
    response = api.patch(f"/api/outcomes/{draft['id']}/", {"step": steps[3].pk}, format="json")
    assert response.status_code == 200
    moved = DesiredOutcome.objects.get(pk=draft["id"])
    assert (moved.step_id, moved.order) == (steps[3].pk, 1)


def test_an_outcome_cannot_move_to_a_step_of_another_job_in_the_workspace(api, workspace, job):
    other_step = JobFactory(workspace=workspace).steps.first()
    outcome = job.outcomes.first()
    response = api.patch(f"/api/outcomes/{outcome.pk}/", {"step": other_step.pk}, format="json")
    assert response.status_code == 400
    assert DesiredOutcome.objects.get(pk=outcome.pk).step_id == outcome.step_id


@pytest.mark.parametrize(
    "statement",
    ["", "    ", "Minimize the time it takes to " + "x" * 271],
    ids=["empty", "blank", "301-chars"],
)
def test_a_blocking_statement_is_refused_on_create_and_update(api, job, statement):
    step = job.steps.first()
    outcome = job.outcomes.get(code="O001")
    before = counts()
    response = api.post("/api/outcomes/", {"step": step.pk, "statement": statement}, format="json")
    assert response.status_code == 400
    assert "statement" in response.json()
    response = api.patch(f"/api/outcomes/{outcome.pk}/", {"statement": statement}, format="json")
    assert response.status_code == 400
    assert counts() == before
    assert DesiredOutcome.objects.get(pk=outcome.pk).statement == outcome.statement


def test_warnings_do_not_block_saving(api, job):
    response = api.post(
        "/api/outcomes/",
        {"step": job.steps.first().pk, "statement": "Make the app easy to use and fast"},
        format="json",
    )
    assert response.status_code == 201
    codes = {f["code"] for f in response.json()["findings"]}
    assert {"unknown_direction", "missing_metric", "solution_word", "vague_word"} <= codes
    assert all(f["severity"] == "warning" for f in response.json()["findings"])
    assert job.outcomes.count() == 4


def test_the_outcome_list_reports_near_duplicates_of_sibling_outcomes(api, job):
    near = "Minimize the time it takes to find who on the team has not yet started using the tool"
    created = api.post(
        "/api/outcomes/", {"step": job.steps.first().pk, "statement": near}, format="json"
    )
    assert created.status_code == 201
    rows = {r["code"]: r for r in api.get(f"/api/outcomes/?job={job.pk}").json()["results"]}
    assert [(f["code"], f["detail"]) for f in rows["O004"]["findings"]] == [
        ("near_duplicate", "O001")
    ]
    assert [(f["code"], f["detail"]) for f in rows["O001"]["findings"]] == [
        ("near_duplicate", "O004")
    ]
    assert rows["O002"]["findings"] == []


def test_the_outcome_list_filters_by_status_and_step(api, job):
    step = job.steps.first()
    api.post("/api/outcomes/", {"step": step.pk, "statement": NEW_STATEMENT}, format="json")
    drafts = api.get(f"/api/outcomes/?job={job.pk}&status=draft").json()["results"]
    assert [o["code"] for o in drafts] == ["O004"]
    by_step = api.get(f"/api/outcomes/?step={step.pk}").json()["results"]
    assert [o["code"] for o in by_step] == ["O001", "O002", "O003", "O004"]


# --- statement check ------------------------------------------------------------------------------


def test_statement_check_returns_parts_and_findings_with_codes(api, job, workspace):
    workspace.solution_words = "Acme Hub"
    workspace.save()
    response = api.post(
        "/api/statement-check/",
        {"statement": "Minimize the time it takes to open Acme Hub quickly", "job": job.pk},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["parts"]["direction"] == "Minimize"
    assert body["parts"]["metric"] == "the time it takes to"
    assert {(f["code"], f["detail"]) for f in body["findings"]} == {
        ("solution_word", "Acme Hub"),
        ("vague_word", "quickly"),
    }
    assert (body["blocking"], body["ok"]) == (False, False)


def test_statement_check_finds_near_duplicates_in_the_job_unless_excluded(api, job):
    statement = job.outcomes.get(code="O002").statement
    body = api.post(
        "/api/statement-check/", {"statement": statement, "job": job.pk}, format="json"
    ).json()
    assert [(f["code"], f["detail"]) for f in body["findings"]] == [("near_duplicate", "O002")]
    body = api.post(
        "/api/statement-check/",
        {"statement": statement, "job": job.pk, "exclude_code": "O002"},
        format="json",
    ).json()
    assert body["findings"] == [] and body["ok"] is True
    # Without a job, nothing to compare with.
    body = api.post("/api/statement-check/", {"statement": statement}, format="json").json()
    assert body["ok"] is True


@pytest.mark.parametrize(
    ("statement", "code"),
    [("", "empty"), ("   ", "empty"), ("Minimize the number of " + "y" * 278, "far_too_long")],
)
def test_statement_check_flags_blocking_statements(api, statement, code):
    body = api.post("/api/statement-check/", {"statement": statement}, format="json").json()
    assert body["blocking"] is True
    assert body["findings"][0]["code"] == code
    assert body["findings"][0]["severity"] == "error"


def test_statement_check_requires_a_statement_and_creates_nothing(api, job):
    before = counts()
    response = api.post("/api/statement-check/", {"job": job.pk}, format="json")
    assert response.status_code == 400
    assert "statement" in response.json()
    assert counts() == before


# --- format suffixes ----------------------------------------------------------------------------


def test_action_urls_with_a_format_suffix_work_like_the_plain_ones(api, job):
    api.raise_request_exception = False
    plain = api.get(f"/api/jobs/{job.pk}/export/json/")
    suffixed = api.get(f"/api/jobs/{job.pk}/export/json.json")
    assert suffixed.status_code == plain.status_code == 200
    assert suffixed.json() == plain.json()


def test_stage_choices_match_the_universal_map():
    assert [s for s, _, _ in UNIVERSAL_JOB_MAP] == list(Stage.values) == STAGES_IN_ORDER


def test_a_deleted_outcomes_code_is_never_handed_out_again(api, job):
    step = job.steps.first()
    last = job.outcomes.order_by("-code").first()
    assert last.code == "O003"
    assert api.delete(f"/api/outcomes/{last.pk}/").status_code == 204
    created = api.post(
        "/api/outcomes/", {"step": step.pk, "statement": OUTCOMES_NEW}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["code"] == "O004"


OUTCOMES_NEW = "Minimize the time it takes to find the team's weekly adoption figures"


def _publish_survey_over(job):
    from surveys import services as survey_services

    survey = survey_services.create_survey(workspace=job.workspace, job=job, title="Wave 1")
    survey_services.publish_survey(survey=survey)
    return survey


def test_a_job_with_surveys_cannot_be_deleted_and_nothing_is_lost(api, job, client, researcher):
    _publish_survey_over(job)
    refused = api.delete(f"/api/jobs/{job.pk}/")
    assert refused.status_code == 409 and "survey" in refused.json()["detail"]
    client.force_login(researcher)
    page = client.post(f"/jobs/{job.pk}/delete/", {"confirm": job.statement}, follow=True)
    assert page.status_code == 200 and "delete those first" in page.content.decode()
    assert job.outcomes.count() == 3 and job.steps.count() == 8


def test_a_published_outcomes_code_cannot_change_be_deleted_or_be_reused(api, job):
    _publish_survey_over(job)
    first = job.outcomes.get(code="O001")
    renamed = api.patch(f"/api/outcomes/{first.pk}/", {"code": "Z001"}, format="json")
    assert renamed.status_code == 400 and "cannot change" in str(renamed.json())
    deleted = api.delete(f"/api/outcomes/{first.pk}/")
    assert deleted.status_code == 409
    first.refresh_from_db()
    assert first.code == "O001"
    step = job.steps.first()
    draft = api.post(
        "/api/outcomes/", {"step": step.pk, "statement": OUTCOMES_NEW, "code": "X1"}, format="json"
    )
    assert draft.status_code == 201
    reuse = api.patch(f"/api/outcomes/{draft.json()['id']}/", {"code": "O002"}, format="json")
    assert reuse.status_code == 400


def test_a_renamed_outcome_number_is_remembered(api, job):
    third = job.outcomes.get(code="O003")
    assert (
        api.patch(f"/api/outcomes/{third.pk}/", {"code": "O099"}, format="json").status_code == 200
    )
    assert api.delete(f"/api/outcomes/{third.pk}/").status_code == 204
    created = api.post(
        "/api/outcomes/", {"step": job.steps.first().pk, "statement": OUTCOMES_NEW}, format="json"
    )
    assert created.json()["code"] == "O100"


def test_listing_jobs_and_steps_costs_the_same_queries_for_many_rows(
    api, workspace, django_assert_max_num_queries
):
    from tests.factories import JobFactory

    for i in range(6):
        JobFactory(workspace=workspace, statement=f"Get tool {i} adopted")
    with django_assert_max_num_queries(4):
        jobs = api.get("/api/jobs/").json()["results"]
    assert len(jobs) == 6 and all(j["step_count"] == 8 for j in jobs)
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/steps/").json()["results"]) == 48
