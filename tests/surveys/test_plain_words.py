"""What the researcher pages say in words: minutes as minutes, counts that say what they count,
plurals that agree with their number, and a breadcrumb that names the job."""

from __future__ import annotations

import re

import pytest

from jtbd import services as catalogue
from jtbd.models import OutcomeStatus
from surveys import ratings, services
from surveys.models import Response, ResponseStatus
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def fieldwork(workspace, job):
    """Two complete responses (270 s and 61 s), one screened out, one still in progress."""
    survey = services.create_survey(workspace=workspace, job=job, title="Adoption")
    version = services.publish_survey(survey=survey)
    for rid, status, seconds in (
        ("a", ResponseStatus.COMPLETED, 270.0),
        ("b", ResponseStatus.COMPLETED, 61.0),
        ("c", ResponseStatus.SCREENED_OUT, None),
        ("d", ResponseStatus.IN_PROGRESS, None),
    ):
        Response.objects.create(
            survey=survey,
            version=version,
            respondent_id=rid,
            status=status,
            duration_seconds=seconds,
            ratings=ratings.encode([4, 4, 4], [2, 2, 2]),
        )
    return survey


def _cells(page: str, label: str) -> list[str]:
    return re.findall(rf'<td data-label="{label}">([^<]*)</td>', page)


def test_the_responses_table_shows_minutes_as_minutes(web, fieldwork):
    page = web.get(f"/surveys/{fieldwork.pk}/responses/").content.decode()
    assert '<th scope="col">Minutes taken</th>' in page
    # Newest first: c (screened out, no time), b (61 s), a (270 s); d is still in progress.
    assert _cells(page, "Minutes taken") == ["—", "1.0", "4.5"]
    assert "270s" not in page


def test_the_responses_heading_says_what_it_counts_including_those_in_progress(web, fieldwork):
    page = web.get(f"/surveys/{fieldwork.pk}/responses/").content.decode()
    assert "<h1>Responses: 2 complete · 1 screened out · 1 in progress</h1>" in page
    assert "Responses in progress are not listed until they are finished." in page
    assert "Showing 3 finished responses." in page
    flagged = web.get(f"/surveys/{fieldwork.pk}/responses/?flagged=1").content.decode()
    assert "Showing the 0 flagged responses." in flagged


def test_counts_of_one_read_in_the_singular(web, workspace, job):
    single = JobFactory(workspace=workspace, statement="Keep the team's tool tidy")
    catalogue.add_outcome(
        step=single.steps.first(),
        statement="Minimize the time it takes to find an unused workspace",
        status=OutcomeStatus.APPROVED,
    )
    page = web.get(single.get_absolute_url()).content.decode()
    assert "<li><b>1</b> outcome</li>" in page
    assert "its steps and its one outcome." in page
    survey = services.create_survey(workspace=workspace, job=single, title="One")
    services.publish_survey(survey=survey)
    page = web.get(survey.get_absolute_url()).content.decode()
    assert "<li><b>1</b> outcome</li>" in page
    assert " · 1 outcome · " in page
    assert not re.search(r"\b1(</b>)? outcomes\b", page)


def test_the_job_breadcrumb_names_the_job_not_its_kind(web, job):
    page = web.get(job.get_absolute_url()).content.decode()
    crumb = re.search(r'<p class="small muted">(.*?)</p>', page).group(1)
    assert crumb.endswith("› Get a newly purchased tool adopted across my team")
    assert "Core functional" not in crumb
