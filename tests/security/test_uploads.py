"""Uploads are size-limited on every import endpoint and never stored where they could be served
or run.

The limit is the request body: above UPLOAD_MAX_BYTES (DATA_UPLOAD_MAX_MEMORY_SIZE) the request is
refused with 413 and a message naming the limit before any view reads it (config/security.py),
since Django alone would stream a large file to a temporary file and DRF would read a JSON body
of any size.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jtbd.models import DesiredOutcome, Job
from surveys.models import Response, Survey
from tests.security.support import published_survey

pytestmark = pytest.mark.django_db

LIMIT = 4096
CSV_HEADER = "stage,step_title,code,statement\n"


def catalogue_csv(rows: int, marker: str = "") -> bytes:
    lines = [
        f"define,Define,UP{i:03d},Minimize the time it takes to finish upload task {i} {marker}"
        for i in range(rows)
    ]
    return (CSV_HEADER + "\n".join(lines) + "\n").encode()


def big(size: int = LIMIT * 2) -> bytes:
    body = catalogue_csv(size // 60 + 1)
    assert len(body) > LIMIT
    return body


def upload(content: bytes, name: str = "upload.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture
def small_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = LIMIT
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = LIMIT


@pytest.fixture
def signed_in(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def survey(job) -> Survey:
    return published_survey(job)


def counts() -> tuple[int, int, int, int]:
    return (
        Job.objects.count(),
        DesiredOutcome.objects.count(),
        Survey.objects.count(),
        Response.objects.count(),
    )


def _send(client: Client, endpoint: str, workspace, job, survey, content: bytes):
    """POST `content` to one of the upload endpoints, the way its form or API client sends it."""
    if endpoint == "page:job-import":
        return client.post("/jobs/import/", {"file": upload(content, "catalogue.json")})
    if endpoint == "page:job-import-csv":
        return client.post(f"/jobs/{job.pk}/import-csv/", {"file": upload(content)})
    if endpoint == "page:response-import":
        return client.post(f"/surveys/{survey.pk}/import/", {"file": upload(content)})
    if endpoint == "api:job-import":
        return client.post(
            f"/api/jobs/import/?workspace={workspace.pk}", content, content_type="application/json"
        )
    if endpoint == "api:job-import-csv":
        return client.post(f"/api/jobs/{job.pk}/import-csv/", {"file": upload(content)})
    if endpoint == "api:import-responses":
        return client.post(f"/api/surveys/{survey.pk}/import-responses/", {"file": upload(content)})
    if endpoint == "api:import-study":
        return client.post(
            "/api/surveys/import-study/",
            {"file": upload(content), "name": "Big study", "workspace": workspace.pk},
        )
    if endpoint == "api:public-submit":
        return client.post(
            f"/api/public/surveys/{survey.public_token}/responses/",
            content,
            content_type="application/json",
        )
    raise AssertionError(endpoint)


ENDPOINTS = [
    "page:job-import",
    "page:job-import-csv",
    "page:response-import",
    "api:job-import",
    "api:job-import-csv",
    "api:import-responses",
    "api:import-study",
    "api:public-submit",
]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_upload_above_the_limit_is_refused_with_413_naming_the_limit_and_nothing_is_stored(
    small_limit, signed_in, workspace, job, survey, endpoint
):
    content = big()
    if endpoint in ("api:job-import", "api:public-submit"):
        content = json.dumps({"padding": content.decode()}).encode()
    before = counts()
    response = _send(signed_in, endpoint, workspace, job, survey, content)
    assert response.status_code == 413, response.content[:300]
    if endpoint.startswith("api:"):
        body = response.json()
        assert "4 KB" in body["detail"] and body["limit_bytes"] == LIMIT
    else:
        html = response.content.decode()
        assert "Upload too large" in html and "4 KB" in html
    assert counts() == before


def test_an_upload_under_the_limit_still_imports(small_limit, signed_in, job):
    before = DesiredOutcome.objects.count()
    content = catalogue_csv(10)
    assert len(content) < LIMIT - 500
    response = signed_in.post(f"/jobs/{job.pk}/import-csv/", {"file": upload(content)})
    assert response.status_code == 302, response.content[:500]
    assert DesiredOutcome.objects.count() == before + 10


def _written_since(started: float, marker: bytes) -> list[Path]:
    """Files under the project, STATIC_ROOT and MEDIA_ROOT changed since `started` that hold
    the marker (dependencies, git data and other engineers' untouched files are skipped)."""
    skip = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache"}
    roots = {Path(django_settings.BASE_DIR), Path(django_settings.STATIC_ROOT)}
    if django_settings.MEDIA_ROOT:
        roots.add(Path(django_settings.MEDIA_ROOT))
    found = []
    for root in roots:
        if not root.exists():
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if d not in skip]
            for name in files:
                path = Path(folder) / name
                try:
                    if path.stat().st_mtime >= started and marker in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


@pytest.mark.parametrize("route", ["page", "api"])
def test_an_imported_file_is_read_not_stored_where_it_could_be_served_or_run(
    settings, signed_in, job, route
):
    # Larger than the in-memory threshold, so Django spools it to a temporary file first.
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
    marker = f"marker{uuid.uuid4().hex}"
    content = catalogue_csv(40, marker)
    assert len(content) > 1024
    name = f"{marker}.html"  # a name a web server would serve as a page
    started = time.time() - 1
    url = f"/jobs/{job.pk}/import-csv/" if route == "page" else f"/api/jobs/{job.pk}/import-csv/"
    response = signed_in.post(url, {"file": upload(content, name)})
    assert response.status_code == (302 if route == "page" else 201), response.content[:500]
    assert DesiredOutcome.objects.filter(statement__contains=marker).count() == 40
    assert _written_since(started, marker.encode()) == []
    for prefix in ("/static/", "/media/", "/"):
        assert signed_in.get(f"{prefix}{name}").status_code == 404
