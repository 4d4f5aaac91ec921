"""The strategist's results pages: the ranking and the job map read stored results."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import floatformat
from django.test import Client

from analysis import runs
from analysis.models import OutcomeResult
from surveys.importing import import_study
from surveys.wide_csv import ImportOptions

pytestmark = pytest.mark.django_db


def one(value: float) -> str:
    """A number as the page shows it (one decimal)."""
    return floatformat(value, 1)


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
    runs.analyze_now(survey=survey, parameters={"segments": "off"})
    return survey


def rows_of(html: str) -> list[str]:
    """The rows of the ranking table (the page also holds the landscape's table)."""
    table = html.split('class="list results"')[1].split("</table>")[0]
    return table.split("<tr>")[2:]


def test_the_ranking_lists_outcomes_by_opportunity_with_intervals_and_plain_words(
    client: Client, viewer, survey
):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    body = rows_of(html)
    assert [r.split("<code>")[1][:2] for r in body] == ["A1", "A3", "A2"]
    assert "badge band-extreme" in body[0] and "overserved" in body[2]
    assert "9 in 10 respondents say this matters; 1 in 10 are satisfied today." in body[0]
    assert "150</b> completes" in html
    # Every row shows its own stored 95% interval beside the opportunity score.
    stored = OutcomeResult.objects.filter(run__survey=survey, segment=None)
    for result in stored:
        row = next(r for r in body if f"<code>{result.code}</code>" in r)
        assert result.opportunity_lower <= result.opportunity <= result.opportunity_upper
        interval = f"({one(result.opportunity_lower)}–{one(result.opportunity_upper)})"
        assert f'<span class="small muted">{interval}</span>' in row, (interval, row)
    assert len(stored) == len(body) == 3
    assert any(r.opportunity_lower < r.opportunity_upper for r in stored)  # not all degenerate


def test_the_ranking_filters_by_band_and_switches_scoring(client: Client, viewer, survey):
    client.force_login(viewer)
    only_low = client.get(f"/surveys/{survey.pk}/results/?band=low").content.decode()
    codes = [r.split("<code>")[1][:2] for r in rows_of(only_low)]
    assert "A1" not in codes and "A2" in codes
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


@pytest.fixture
def demo(db):
    from io import StringIO

    from django.core.management import call_command

    from surveys.models import Survey

    call_command("seed_demo", stdout=StringIO())
    return Survey.objects.get()


def test_the_segments_page_shows_each_segment_and_how_it_differs(client: Client, demo):
    from workspaces.models import Membership

    client.force_login(Membership.objects.get(role="viewer").user)
    html = client.get(f"/surveys/{demo.pk}/results/segments/").content.decode()
    assert html.count('class="card segment"') == 3
    assert "Top unmet outcomes" in html and "Against the rest" in html and "Who they are" in html
    assert "Rename" not in html  # viewers read, they do not rename


def test_a_researcher_renames_a_segment(client: Client, demo):
    from analysis.models import SegmentResult
    from workspaces.models import Membership

    client.force_login(Membership.objects.get(role="researcher").user)
    answer = client.post(
        f"/surveys/{demo.pk}/results/segments/", {"segment": "2", "name": "Visibility seekers"}
    )
    assert answer.status_code == 302
    assert SegmentResult.objects.get(number=2).display_name == "Visibility seekers"
    assert client.post(f"/surveys/{demo.pk}/results/segments/", {"segment": "9"}).status_code == 404


def test_viewers_cannot_rename_segments(client: Client, demo):
    from analysis.models import SegmentResult
    from workspaces.models import Membership

    client.force_login(Membership.objects.get(role="viewer").user)
    answer = client.post(f"/surveys/{demo.pk}/results/segments/", {"segment": "1", "name": "x"})
    assert answer.status_code == 403
    assert SegmentResult.objects.get(number=1).custom_name == ""


def test_the_segments_page_says_when_there_are_no_segments(client: Client, viewer, survey):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/segments/").content.decode()
    assert "No stable segments" in html


def test_the_loyalty_page_ranks_the_drivers_of_nps(client: Client, demo):
    from workspaces.models import Membership

    client.force_login(Membership.objects.get(role="viewer").user)
    html = client.get(f"/surveys/{demo.pk}/results/loyalty/").content.decode()
    assert "Likelihood to recommend (NPS)" in html
    top = html.split("<tbody>")[1].split("</tr>")[:3]
    # The demo's respondents recommend less when these needs are unmet.
    assert {c for c in ("O030", "O022", "O041") if any(c in row for row in top)} >= {"O030", "O022"}


def test_the_loyalty_page_says_when_no_loyalty_question_was_asked(client: Client, viewer, survey):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/loyalty/").content.decode()
    assert "did not ask a loyalty question" in html


def test_the_results_page_links_to_every_export_and_the_links_work(client: Client, viewer, survey):
    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    for fmt, magic in (("csv", b"rank,code"), ("xlsx", b"PK"), ("sav", b"$FL2")):
        link = f"/api/surveys/{survey.pk}/exports/?format={fmt}"
        assert link in html
        answer = client.get(link)
        assert answer.status_code == 200 and b"".join(answer).startswith(magic), fmt


def test_the_landscape_page_draws_the_chart_for_everyone_or_a_segment(client: Client, demo):
    from workspaces.models import Membership

    client.force_login(Membership.objects.get(role="viewer").user)
    everyone = client.get(f"/surveys/{demo.pk}/results/landscape/").content.decode()
    assert "<svg" in everyone and everyone.count('tabindex="0"') >= 48
    segment = client.get(f"/surveys/{demo.pk}/results/landscape/?segment=2").content.decode()
    assert "landscape.svg?segment=2" in segment
    assert client.get(f"/surveys/{demo.pk}/results/landscape/?segment=x").status_code == 200
