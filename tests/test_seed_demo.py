"""The demo seed: a realistic study that every page can show from the first minute."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.test import RequestFactory

from jtbd.demo_data import DEMO_JOB, DEMO_STEPS
from jtbd.models import DesiredOutcome, Job, JobStep
from jtbd.statements import check_statement
from surveys.models import Invitation, Response, Survey
from surveys.ratings import load_matrix
from workspaces.models import Membership, Workspace

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **{"known_passwords": True, **options})
    return out.getvalue()


def signs_in(username: str, password: str) -> bool:
    # A sign-in comes with its request (django-axes counts failures by client address).
    request = RequestFactory().post("/accounts/login/")
    return authenticate(request, username=username, password=password) is not None


def catalogue_rows() -> tuple:
    return (
        list(Workspace.objects.values_list("pk", "slug", "name", "solution_words")),
        list(get_user_model().objects.order_by("pk").values_list("pk", "username", "password")),
        list(Membership.objects.order_by("pk").values_list("workspace_id", "user_id", "role")),
        list(Job.objects.order_by("pk").values_list("pk", "statement", "notes")),
        list(JobStep.objects.order_by("pk").values_list("pk", "stage", "title", "order")),
        list(
            DesiredOutcome.objects.order_by("pk").values_list(
                "pk", "step_id", "code", "statement", "status", "order"
            )
        ),
        list(Survey.objects.values_list("pk", "title", "status", "current_version_id")),
        list(Response.objects.order_by("pk").values_list("pk", "respondent_id", "ratings")),
        Invitation.objects.count(),
    )


def test_seed_demo_creates_the_demo_workspace_users_and_catalogue():
    output = seed()
    workspace = Workspace.objects.get()
    assert workspace.slug == "demo"
    assert workspace.solution_word_list() == ["Acme Hub", "Acme Academy"]
    job = Job.objects.get()
    assert (job.workspace, job.statement) == (workspace, DEMO_JOB["statement"])
    assert JobStep.objects.count() == 8
    assert DesiredOutcome.objects.count() == 48
    assert sum(len(s["outcomes"]) for s in DEMO_STEPS) == 48
    assert dict(Membership.objects.values_list("user__username", "role")) == {
        "demo": "owner",
        "researcher": "researcher",
        "strategist": "viewer",
    }
    assert get_user_model().objects.count() == 3
    assert signs_in("strategist", "demo-password")
    assert f"job #{job.pk} with 8 steps and 48 outcomes" in output
    # The demo catalogue is what the statement checker calls well formed, in step order.
    assert list(job.steps.order_by("order").values_list("title", flat=True)) == [
        s["title"] for s in DEMO_STEPS
    ]
    codes = list(job.outcomes.order_by("step__order", "order").values_list("code", flat=True))
    assert codes == [f"O{n:03d}" for n in range(1, 49)]
    assert set(job.outcomes.values_list("status", flat=True)) == {"approved"}
    assert all(check_statement(o.statement).ok for o in job.outcomes.all())


def test_seed_demo_twice_duplicates_nothing_and_keeps_edits():
    seed()
    outcome = DesiredOutcome.objects.get(code="O007")
    outcome.set_statement("Minimize the time it takes to spot an idle licence")
    outcome.save()
    user = get_user_model().objects.get(username="demo")
    user.set_password("changed-by-the-owner")
    user.save()
    before = catalogue_rows()
    seed()
    assert catalogue_rows() == before
    assert (Job.objects.count(), JobStep.objects.count(), DesiredOutcome.objects.count()) == (
        1,
        8,
        48,
    )
    assert get_user_model().objects.count() == 3
    assert signs_in("demo", "changed-by-the-owner")


def test_seed_demo_publishes_a_survey_with_responses_that_have_real_groups_in_them():
    from analysis.core import segments

    seed()
    survey = Survey.objects.get()
    assert survey.status == "open" and survey.current_version.number == 1
    counts = survey.responses.counts()
    assert counts["completed"] == 320 and counts["in_progress"] > 0
    assert counts["screened_out"] > 0 and counts["flagged"] >= 6
    matrix = load_matrix(survey)
    assert matrix.importance.shape == (counts["completed"] - counts["flagged"], 48)
    found = segments.segment(matrix.importance, matrix.satisfaction, seed=1)
    assert found.found and found.k in (2, 3, 4)


def test_seed_demo_analyses_the_demo_survey_once():
    from analysis.models import AnalysisRun, OutcomeResult

    output = seed()
    run = AnalysisRun.objects.get()
    assert run.status == "succeeded"
    assert run.segmentation["found"] is True
    assert OutcomeResult.objects.filter(run=run, segment=None).count() == 48
    assert f"Demo analysis #{run.pk}: succeeded" in output
    seed()
    assert AnalysisRun.objects.count() == 1


def test_seed_demo_with_debug_off_gives_each_user_a_random_password_printed_once(settings):
    settings.DEBUG = False
    output = seed(known_passwords=False)
    for username in ("demo", "researcher", "strategist"):
        assert not signs_in(username, "demo-password")
        line = next(x for x in output.splitlines() if x.startswith(f"Created {username} "))
        password = line.rsplit(" ", 1)[1]
        assert len(password) >= 16
        assert signs_in(username, password)
    assert get_user_model().objects.get(username="demo").is_superuser
    assert "Created" not in seed(known_passwords=False)  # existing users are left alone


def test_seed_demo_with_debug_on_uses_the_documented_demo_password(settings):
    settings.DEBUG = True
    output = seed(known_passwords=False)
    assert signs_in("demo", "demo-password")
    assert "password" not in output
