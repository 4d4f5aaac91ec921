"""The strategist's results pages: the ranking and the job map read stored results."""

from __future__ import annotations

import pytest
from django.test import Client

from analysis import services
from surveys.importing import ImportOptions, import_study

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(workspace):
    # A1: 9 in 10 say it matters, 1 in 10 satisfied -> extreme; A2: overserved; A3 in between.
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2,imp_A3,sat_A3"]
    for i in range(150):
        rows.append(
            f"r{i},{5 if i % 10 else 2},{5 if i % 10 == 0 else 1},"
            f"{4 if i % 2 else 2},{5},{4 if i % 3 else 1},{3}"
        )
    survey = import_study(
        workspace=workspace, name="Adoption", data="\n".join(rows), options=ImportOptions()
    ).survey
    services.analyze_now(survey=survey, parameters={"segments": "off"})
    return survey


def rows_of(html: str) -> list[str]:
    return [line for line in html.split("<tr>")[2:]]


def test_the_ranking_lists_outcomes_by_opportunity_with_intervals_and_plain_words(
    client: Client, viewer, survey
):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    body = rows_of(html)
    assert [r.split("<code>")[1][:2] for r in body] == ["A1", "A3", "A2"]
    assert "badge band-extreme" in body[0] and "overserved" in body[2]
    assert "9 in 10 respondents say this matters; 1 in 10 are satisfied today." in body[0]
    assert "150</b> completes" in html or "150</b> completes".replace("</b>", "</b>") in html
    assert "(" in body[0] and "–" in body[0]  # the interval


def test_the_ranking_filters_by_band_and_switches_scoring(client: Client, viewer, survey):
    client.force_login(viewer)
    only_low = client.get(f"/surveys/{survey.pk}/results/?band=low").content.decode()
    assert "<code>A1</code>" not in only_low and "<code>A2</code>" in only_low
    by_gap = client.get(f"/surveys/{survey.pk}/results/?scoring=mean_gap").content.decode()
    assert "Ranked by mean gap" in by_gap and '<th scope="col">Mean gap</th>' in by_gap
    nonsense = client.get(f"/surveys/{survey.pk}/results/?scoring=x&band=y&step=z&segment=abc")
    assert nonsense.status_code == 200 and "Ranked by opportunity" in nonsense.content.decode()


def test_the_job_map_colours_each_outcome_by_band(client: Client, viewer, survey):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/jobmap/").content.decode()
    assert html.count('class="heatcell band-') == 3
    assert 'heatcell band-extreme"><span class="code">A1</span>' in html


def test_a_survey_without_results_says_so(client: Client, researcher, workspace, survey):
    from surveys import services as survey_services

    other = survey_services.create_survey(workspace=workspace, job=survey.job, title="Wave 2")
    client.force_login(researcher)
    html = client.get(f"/surveys/{other.pk}/results/").content.decode()
    assert "No analysis has finished yet" in html
    assert client.get(f"/surveys/{other.pk}/results/jobmap/").status_code == 404


def test_results_pages_of_another_workspace_are_404(client: Client, outsider, survey):
    client.force_login(outsider)
    assert client.get(f"/surveys/{survey.pk}/results/").status_code == 404
    assert client.get(f"/surveys/{survey.pk}/results/jobmap/").status_code == 404


def test_researcher_text_is_escaped_on_results_pages(client: Client, viewer, survey):
    from analysis.models import OutcomeResult

    OutcomeResult.objects.filter(code="A1").update(statement="<script>alert(1)</script>")
    client.force_login(viewer)
    for path in ("results/", "results/jobmap/"):
        html = client.get(f"/surveys/{survey.pk}/{path}").content.decode()
        assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
