"""Imported responses request the same background work as responses completed on the survey pages
(speeders, re-analysis), through the same outbox, from the page, the API and the command."""

from __future__ import annotations

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from analysis.models import AnalysisRun, RunStatus
from surveys import services, tasks
from surveys.models import Outbox, Survey
from surveys.wide_csv import MUST_BE

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(workspace, job) -> Survey:
    survey = services.create_survey(workspace=workspace, job=job, title="Fieldwork")
    services.publish_survey(survey=survey)
    return survey


def wide_file(survey: Survey, *ids: str) -> str:
    codes = survey.current_version.outcome_codes
    header = ["respondent_id", *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]
    rows = [[rid, *(["4"] * (2 * len(codes)))] for rid in ids]
    return "\n".join(",".join(row) for row in [header, *rows]) + "\n"


def assert_reanalysis_requested(survey: Survey, settings, capture) -> None:
    """One unprocessed completion request for the survey, which (with a broker, as in
    production) queues an analysis run when the worker handles it."""
    (entry,) = Outbox.objects.filter(survey=survey, kind="response_completed", processed_at=None)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with capture(execute=False):
        tasks.process_outbox_entry(entry.pk)
    assert AnalysisRun.objects.filter(survey=survey, status=RunStatus.QUEUED).count() == 1


def test_the_import_page_requests_a_reanalysis(
    survey, researcher, settings, django_capture_on_commit_callbacks
):
    client = Client()
    client.force_login(researcher)
    upload = SimpleUploadedFile("r.csv", wide_file(survey, "r1", "r2").encode())
    page = client.post(
        reverse("surveys:response-import", args=[survey.pk]),
        {
            "file": upload,
            "id_column": "respondent_id",
            "importance_pattern": "imp_{code}",
            "satisfaction_pattern": "sat_{code}",
        },
    )
    assert page.status_code == 302
    assert survey.responses.count() == 2
    assert_reanalysis_requested(survey, settings, django_capture_on_commit_callbacks)


def test_the_import_api_requests_a_reanalysis(
    survey, researcher, api_as, settings, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("r.csv", wide_file(survey, "r1").encode())
    answer = api_as(researcher).post(
        f"/api/surveys/{survey.pk}/import-responses/", {"file": upload}, format="multipart"
    )
    assert answer.status_code == 201, answer.content
    assert_reanalysis_requested(survey, settings, django_capture_on_commit_callbacks)


def test_the_import_responses_command_requests_a_reanalysis(
    survey, tmp_path, settings, django_capture_on_commit_callbacks
):
    path = tmp_path / "r.csv"
    path.write_text(wide_file(survey, "r1", "r2", "r3"))
    call_command("import_responses", str(survey.pk), str(path), stdout=io.StringIO())
    assert survey.responses.count() == 3
    assert_reanalysis_requested(survey, settings, django_capture_on_commit_callbacks)


def test_a_refused_import_requests_nothing(survey, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(wide_file(survey, "r1").replace(",4\n", ",9\n"))
    with pytest.raises(Exception, match=re.escape(MUST_BE)):
        call_command("import_responses", str(survey.pk), str(path), stdout=io.StringIO())
    assert survey.responses.count() == 0
    assert not Outbox.objects.filter(survey=survey).exists()
