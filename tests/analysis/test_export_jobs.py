"""Background exports of large surveys: the results page posts, a job builds the file in a
Celery task (in-process here: no broker), its page shows progress and then the download."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.test import Client

from analysis import export_jobs, export_xlsx, exports, runs
from analysis.models import ExportJob, ExportStatus
from surveys.importing import import_study
from surveys.wide_csv import ImportOptions

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(workspace):
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2,imp_A3,sat_A3"]
    for i in range(60):
        rows.append(f"r{i},{5 if i % 10 else 2},{1 + i % 5},{4 if i % 2 else 2},5,{1 + i % 4},3")
    survey = import_study(
        workspace=workspace, name="Adoption", data="\n".join(rows), options=ImportOptions()
    ).survey
    runs.analyze_now(survey=survey, parameters={"segments": "off"})
    return survey


@pytest.fixture
def background(settings):
    """Every run counts as large: exports go through jobs."""
    settings.EXPORT_INLINE_LIMIT = 1


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """POST an export and run what the request queued after its commit (the eager task)."""

    def post(client: Client, survey, fmt: str):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(f"/surveys/{survey.pk}/results/exports/", {"format": fmt})

    return post


def test_small_surveys_keep_direct_download_links(client: Client, viewer, survey):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    assert f"/api/surveys/{survey.pk}/exports/?format=xlsx" in html
    assert "/results/exports/" not in html


def test_a_viewer_exports_xlsx_through_a_job_and_downloads_it(
    client: Client, viewer, survey, background, start
):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    assert f'action="/surveys/{survey.pk}/results/exports/"' in html
    assert "csrfmiddlewaretoken" in html and 'value="xlsx"' in html

    response = start(client, survey, "xlsx")
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/surveys/{survey.pk}/results/exports/{job.pk}/"
    assert job.status == ExportStatus.SUCCEEDED and job.progress == 100
    assert job.requested_by == viewer

    page = client.get(response["Location"]).content.decode()
    download = f"/surveys/{survey.pk}/results/exports/{job.pk}/download"
    assert download in page and "ready" in page

    status = client.get(f"/surveys/{survey.pk}/results/exports/{job.pk}/status.json").json()
    assert status == {
        "active": False,
        "id": job.pk,
        "status": "succeeded",
        "progress": 100,
        "stage": "Done",
    }

    file = client.get(download)
    assert file.status_code == 200
    assert file["Content-Type"].startswith("application/vnd.openxmlformats")
    assert job.filename in file["Content-Disposition"]
    body = file.content
    assert body[:2] == b"PK"
    run = job.run
    # Same sheets and cells as the direct export (the zip's timestamps may differ).
    ours = openpyxl.load_workbook(io.BytesIO(body))
    direct = openpyxl.load_workbook(io.BytesIO(export_xlsx.results_xlsx(run)))
    assert ours.sheetnames == direct.sheetnames
    for name in ours.sheetnames:
        if name != "About":
            assert list(ours[name].values) == list(direct[name].values)


def test_csv_and_sav_jobs(client: Client, researcher, survey, background, start):
    client.force_login(researcher)
    start(client, survey, "csv")
    start(client, survey, "sav")
    csv_job, sav_job = ExportJob.objects.order_by("id")
    run = csv_job.run
    assert bytes(csv_job.content) == exports.results_csv(run).encode()
    sav = client.get(f"/surveys/{survey.pk}/results/exports/{sav_job.pk}/download")
    assert sav.content[:4] == b"$FL2"
    assert sav_job.filename.endswith("-respondents.sav")


def test_a_running_job_page_polls_and_refreshes(client: Client, viewer, survey):
    run = survey.analysis_runs.get()
    job = ExportJob.objects.create(
        survey=survey, run=run, format="csv", status="running", progress=20, stage="Building"
    )
    client.force_login(viewer)
    page = client.get(f"/surveys/{survey.pk}/results/exports/{job.pk}/").content.decode()
    assert 'id="run-status"' in page and 'http-equiv="refresh"' in page
    assert "run-status.js" in page and f"/exports/{job.pk}/download" not in page
    status = client.get(f"/surveys/{survey.pk}/results/exports/{job.pk}/status.json").json()
    assert status["active"] is True and status["progress"] == 20
    assert client.get(f"/surveys/{survey.pk}/results/exports/{job.pk}/download").status_code == 404


def test_outsiders_get_404(client: Client, viewer, outsider, survey, background, start):
    client.force_login(viewer)
    start(client, survey, "csv")
    job = ExportJob.objects.get()
    client.force_login(outsider)
    base = f"/surveys/{survey.pk}/results/exports/"
    assert start(client, survey, "csv").status_code == 404
    for url in (f"{base}{job.pk}/", f"{base}{job.pk}/status.json", f"{base}{job.pk}/download"):
        assert client.get(url).status_code == 404
    assert ExportJob.objects.count() == 1


def test_the_post_needs_csrf_and_a_known_format(viewer, survey, background, start):
    client = Client(enforce_csrf_checks=True)
    client.force_login(viewer)
    assert start(client, survey, "csv").status_code == 403
    lenient = Client()
    lenient.force_login(viewer)
    response = start(lenient, survey, "pdf")
    assert response.status_code == 302 and response["Location"].endswith("/results/")
    assert not ExportJob.objects.exists()
    assert lenient.get(f"/surveys/{survey.pk}/results/exports/").status_code == 405


def test_a_failing_builder_marks_the_job_failed(
    client: Client, viewer, survey, background, monkeypatch, start
):
    def broken(run, segment=None):
        raise exports.ExportError("the disk is full")

    monkeypatch.setattr(export_xlsx, "results_xlsx", broken)
    client.force_login(viewer)
    response = start(client, survey, "xlsx")
    job = ExportJob.objects.get()
    assert job.status == ExportStatus.FAILED
    assert "the disk is full" in job.error and job.content is None
    page = client.get(response["Location"]).content.decode()
    assert "the disk is full" in page
    assert client.get(f"{response['Location']}download").status_code == 404


def test_a_finished_job_is_not_built_twice(survey, django_capture_on_commit_callbacks):
    run = survey.analysis_runs.get()
    with django_capture_on_commit_callbacks(execute=True):
        job = export_jobs.request_export(run=run, fmt="csv")
    assert ExportJob.objects.get(pk=job.pk).status == ExportStatus.SUCCEEDED
    assert export_jobs.build(job.pk) is None
    with pytest.raises(ValueError):
        export_jobs.request_export(run=run, fmt="pdf")


def test_the_sweep_rebuilds_jobs_whose_worker_was_lost_and_fails_them_after_three(survey, settings):
    from datetime import timedelta

    from django.utils import timezone

    from analysis.models import AnalysisRun
    from analysis.tasks import sweep_export_jobs

    run = AnalysisRun.objects.latest_succeeded(survey)
    long_ago = timezone.now() - runs.lease() - timedelta(minutes=1)

    def job(**fields) -> ExportJob:
        return ExportJob.objects.create(survey=survey, run=run, format="csv", **fields)

    lost = job(status=ExportStatus.RUNNING, attempts=1, started_at=long_ago, progress=20)
    hopeless = job(
        status=ExportStatus.RUNNING, attempts=export_jobs.MAX_ATTEMPTS, started_at=long_ago
    )
    busy = job(status=ExportStatus.RUNNING, attempts=1, started_at=timezone.now())
    message_lost = job(enqueued_at=long_ago)
    just_sent = job(enqueued_at=timezone.now())
    # Beat runs the sweep with the analysis sweep.
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "analysis.tasks.sweep_export_jobs" in scheduled

    assert sweep_export_jobs() == 2  # in-process here: the jobs are built at once
    for each in (lost, hopeless, busy, message_lost, just_sent):
        each.refresh_from_db()
    assert (lost.status, lost.attempts) == (ExportStatus.SUCCEEDED, 2)
    assert lost.content and bytes(lost.content).startswith(b"rank,code,")
    assert hopeless.status == ExportStatus.FAILED
    assert "worker building the file was lost each time" in hopeless.error
    assert busy.status == ExportStatus.RUNNING  # its worker may still be building it
    assert (message_lost.status, message_lost.attempts) == (ExportStatus.SUCCEEDED, 1)
    assert just_sent.status == ExportStatus.QUEUED


def test_a_broker_failure_leaves_the_job_queued_and_the_sweep_builds_it(
    survey, django_capture_on_commit_callbacks
):
    from datetime import timedelta
    from unittest import mock

    from django.utils import timezone

    from analysis.models import AnalysisRun

    run = AnalysisRun.objects.latest_succeeded(survey)
    with (
        mock.patch(
            "analysis.tasks.build_export.apply_async", side_effect=ConnectionError("redis down")
        ),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = export_jobs.request_export(run=run, fmt="csv")
    job.refresh_from_db()
    # Not failed: a broker that is briefly away loses nothing.
    assert (job.status, job.enqueued_at, job.error) == (ExportStatus.QUEUED, None, "")
    assert job.stage == "Waiting for the task queue to come back"

    assert export_jobs.sweep_jobs() == 0  # too recent: its after-commit enqueue may be coming
    assert export_jobs.sweep_jobs(timezone.now() + timedelta(minutes=2)) == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.SUCCEEDED and job.attempts == 1
    assert bytes(job.content).startswith(b"rank,code,")
