"""The researcher's job map in a real browser, at phone and desktop widths."""

from __future__ import annotations

import pytest

from jtbd.demo_data import DEMO_STEPS
from jtbd.models import DesiredOutcome
from tests.e2e.conftest import DESKTOP, PHONE, screenshot, sign_in
from tests.factories import JobFactory, MembershipFactory, UserFactory, add_outcomes
from workspaces.models import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def big_job(workspace):
    """A job with 60 outcomes spread over its eight steps, some with findings."""
    job = JobFactory(
        workspace=workspace, statement="Get a newly purchased software tool adopted across my team"
    )
    statements = [s for step in DEMO_STEPS for s in step["outcomes"]]
    extra = [
        "Minimize the time it takes to set up the dashboard for each team member",
        "Make onboarding easy and quick for new hires",
        "Minimize the time it takes to install and configure the tool on every laptop",
        "Minimize the likelihood that a team member loses work during the switch, e.g., when "
        "old files are moved across and renamed by someone who was not told about the move",
        "Minimize the number of reminders the team needs before using the tool every day",
        "Minimize the time it takes to learn which reports the team lead reads each week",
        "Minimize the time it takes to see who has finished the introductory lessons",
        "Minimize the likelihood that customers notice a drop in service during the change",
        "Minimize the time it takes to retire the spreadsheet the team used before",
        "Minimize the time it takes to hand over the tool's administration to a deputy",
        "Minimize the number of duplicate records created while both systems are in use",
        "Minimize the time it takes to recognise the first team members who adopt the tool",
    ]
    steps = list(job.steps.order_by("order"))
    for i, statement in enumerate(statements + extra):
        add_outcomes(job, [statement], step=steps[i % len(steps)])
    assert job.outcomes.count() == 60
    return job


def _layout_metrics(page) -> dict:
    return page.evaluate(
        """() => ({
            scrollWidth: document.documentElement.scrollWidth,
            clientWidth: document.documentElement.clientWidth,
            steps: [...document.querySelectorAll('.jobmap > .step')].map(s => {
                const r = s.getBoundingClientRect();
                return {left: r.left, top: r.top, right: r.right, width: r.width};
            }),
            outcomes: document.querySelectorAll('.outcome').length,
        })"""
    )


@pytest.mark.parametrize("viewport,name", [(PHONE, "phone"), (DESKTOP, "desktop")])
def test_the_job_map_holds_60_outcomes_without_sideways_scrolling(
    live_server, page_at, researcher, big_job, viewport, name
):
    page = page_at(viewport)
    sign_in(page, live_server.url, "researcher")
    page.goto(f"{live_server.url}/jobs/{big_job.pk}/")
    metrics = _layout_metrics(page)
    screenshot(page, f"job-map-{name}")

    assert metrics["outcomes"] == 60
    assert len(metrics["steps"]) == 8
    assert metrics["scrollWidth"] <= metrics["clientWidth"], metrics
    for step in metrics["steps"]:
        assert step["right"] <= metrics["clientWidth"] + 0.5
    tops = [round(s["top"]) for s in metrics["steps"][:4]]
    if name == "phone":
        # One column: every step starts below the previous one.
        assert tops == sorted(tops) and len(set(tops)) == 4
        assert all(s["width"] > viewport["width"] * 0.8 for s in metrics["steps"])
    else:
        # Columns: the first four steps sit side by side in one row.
        assert len(set(tops)) == 1
        assert page.locator(".badge.warn").first.is_visible()


def test_a_researcher_sees_findings_live_and_adds_an_outcome_by_keyboard(
    live_server, page_at, researcher, big_job
):
    page = page_at(PHONE)
    sign_in(page, live_server.url, "researcher")
    first_step = big_job.steps.order_by("order").first()
    page.goto(f"{live_server.url}/jobs/{big_job.pk}/outcomes/new/?step={first_step.pk}")
    page.focus("#id_statement")
    page.keyboard.type("Minimize the time it takes to open the dashboard and find the reports")
    findings = page.locator("#statement-findings .findings")
    findings.get_by_text("dashboard").wait_for()
    assert "compound" not in findings.inner_text().lower() or "and" in findings.inner_text()
    screenshot(page, "outcome-form-phone")

    page.fill("#id_statement", "")
    page.keyboard.type("Minimize the time it takes to find the weekly adoption figures")
    findings.get_by_text("Well formed").wait_for()
    page.focus("#id_code")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server.url}/jobs/{big_job.pk}/#outcome-*")

    created = DesiredOutcome.objects.get(
        job=big_job, statement="Minimize the time it takes to find the weekly adoption figures"
    )
    assert created.code == "O061"
    assert created.step == first_step
    assert created.metric == "the time it takes to"


def test_a_viewer_sees_the_map_without_editing_controls(live_server, page_at, workspace, big_job):
    viewer = UserFactory(username="strategist")
    MembershipFactory(workspace=workspace, user=viewer, role=Role.VIEWER)
    page = page_at(DESKTOP)
    sign_in(page, live_server.url, "strategist")
    page.goto(f"{live_server.url}/jobs/{big_job.pk}/")
    assert page.locator(".outcome").count() == 60
    assert page.get_by_role("link", name="Add outcome").count() == 0
    assert page.get_by_role("button", name="Approve all drafts").count() == 0
    assert page.get_by_role("link", name="Export JSON").is_visible()
