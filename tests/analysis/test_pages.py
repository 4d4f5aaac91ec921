"""The survey's analysis page: latest results, a run's progress, starting a run."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.template.defaultfilters import floatformat
from django.test import Client

from analysis import runs
from analysis.models import AnalysisRun, OutcomeResult, RunStatus
from surveys.importing import import_study
from surveys.wide_csv import ImportOptions

pytestmark = pytest.mark.django_db


def one(value: float) -> str:
    """A number as the page shows it (one decimal)."""
    return floatformat(value, 1)


@pytest.fixture
def survey(workspace):
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2"]
    rows += [f"r{i},{5 if i % 3 else 2},{1 + i % 5},{4},{2}" for i in range(120)]
    return import_study(
        workspace=workspace, name="Study", data="\n".join(rows), options=ImportOptions()
    ).survey


def test_the_page_shows_the_latest_results_with_intervals(client: Client, viewer, survey):
    run = runs.analyze_now(survey=survey, parameters={"segments": "off"})
    assert run.status == RunStatus.SUCCEEDED
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/analysis/").content.decode()
    assert f"Analysis #{run.pk}" in html and "120</b> respondents" in html
    assert "A1" in html and "A2" in html and "Start analysis" not in html
    assert "Opportunity (95% interval)" in html
    stored = OutcomeResult.objects.filter(run=run, segment=None)
    assert len(stored) == 2
    for result in stored:
        assert result.opportunity_lower <= result.opportunity <= result.opportunity_upper
        interval = f"({one(result.opportunity_lower)}–{one(result.opportunity_upper)})"
        shown = f'<b>{one(result.opportunity)}</b> <span class="small muted">{interval}</span>'
        assert shown in html, shown


def test_a_researcher_starts_a_run_and_sees_it_succeed(
    client: Client, researcher, survey, django_capture_on_commit_callbacks
):
    client.force_login(researcher)
    with django_capture_on_commit_callbacks(execute=True):  # the request's commit
        posted = client.post(f"/surveys/{survey.pk}/analysis/", {"segments": "off", "seed": "7"})
    assert posted.status_code == 302
    answer = client.get(posted["Location"])
    run = AnalysisRun.objects.get(survey=survey)
    # Run in the request here (ANALYSIS_IN_THREAD off), so it has finished by now, and the
    # message does not call it "queued" next to its results.
    assert run.status == RunStatus.SUCCEEDED and run.parameters["seed"] == 7
    html = answer.content.decode()
    assert f"Analysis #{run.pk} started." in html and "queued" not in html
    assert client.get(f"/surveys/{survey.pk}/analysis/status.json").json() == {"active": False}


def test_a_queued_run_shows_its_progress(client: Client, researcher, survey):
    run = AnalysisRun.objects.create(survey=survey, progress=40, stage="Bootstrap intervals")
    client.force_login(researcher)
    state = client.get(f"/surveys/{survey.pk}/analysis/status.json").json()
    assert state == {
        "active": True,
        "id": run.pk,
        "status": "queued",
        "progress": 40,
        "stage": "Bootstrap intervals",
    }
    assert 'value="40"' in client.get(f"/surveys/{survey.pk}/analysis/").content.decode()


def test_a_bad_segment_count_is_refused_and_nothing_is_queued(client, researcher, survey):
    client.force_login(researcher)
    page = client.post(f"/surveys/{survey.pk}/analysis/", {"segments": "k", "seed": "1"})
    assert page.status_code == 200 and "Give the number of segments" in page.content.decode()
    page = client.post(f"/surveys/{survey.pk}/analysis/", {"segments": "k", "k": "99", "seed": "1"})
    assert "less than or equal" in page.content.decode()
    assert not AnalysisRun.objects.exists()


def test_viewers_cannot_start_and_outsiders_get_404(client, viewer, outsider, survey):
    client.force_login(viewer)
    assert (
        client.post(f"/surveys/{survey.pk}/analysis/", {"segments": "off", "seed": "1"}).status_code
        == 403
    )
    assert not AnalysisRun.objects.exists()
    client.force_login(outsider)
    assert client.get(f"/surveys/{survey.pk}/analysis/").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/analysis/status.json").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_run_starts_in_a_thread_and_the_page_follows_it(
    client: Client, researcher, survey, settings
):
    settings.ANALYSIS_IN_THREAD = True  # the default outside the tests
    # The thread waits twice: before its claim, until the test has read the page, and inside the
    # computation, until the test has read the status. SQLite's shared in-memory test database
    # refuses ("table is locked") a write that overlaps another connection's access, where a
    # database file would wait.
    go, entered, release = threading.Event(), threading.Event(), threading.Event()
    compute, execute_run = runs.compute, runs.execute_run

    def gated(run_id, **kwargs):
        go.wait(10)
        return execute_run(run_id, **kwargs)

    def held(run, **kwargs):
        entered.set()
        release.wait(10)
        return compute(run, **kwargs)

    client.force_login(researcher)
    with mock.patch("analysis.runs.compute", held), mock.patch("analysis.runs.execute_run", gated):
        try:
            answer = client.post(
                f"/surveys/{survey.pk}/analysis/", {"segments": "off", "seed": "7"}, follow=True
            )
            # The request came back before the analysis started.
            run = AnalysisRun.objects.get(survey=survey)
            assert run.status == RunStatus.QUEUED and run.enqueued_at is not None
            html = answer.content.decode()
            assert f"Analysis #{run.pk} is " in html and "data-progress" in html
            go.set()
            assert entered.wait(10)
            state = client.get(f"/surveys/{survey.pk}/analysis/status.json").json()
            assert state["active"] and state["status"] == RunStatus.RUNNING
        finally:
            go.set()
            release.set()
        # Wait on the thread itself: polling the row would race its writes, which SQLite's
        # shared in-memory test database refuses ("table is locked") instead of waiting.
        for thread in threading.enumerate():
            if thread.name == f"analysis-{run.pk}":
                thread.join(60)
    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert client.get(f"/surveys/{survey.pk}/analysis/status.json").json() == {"active": False}
