"""The comparisons page: two groups of the latest run side by side, and two waves of one job.

Helper data as in test_api: planted segments with a profile column "role" that follows them;
a second wave is a second survey of the same job whose satisfaction moved on one outcome.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from analysis import runs
from analysis.core import synthetic
from analysis.models import AnalysisRun, RunStatus
from surveys.importing import import_responses
from surveys.services import create_survey, publish_survey
from surveys.wide_csv import ImportOptions
from tests.analysis.test_runs import import_arrays, wide_csv

pytestmark = pytest.mark.django_db

ROLES = ["Team lead", "Engineer", "<b>Analyst</b>"]
N, M = 600, 8


def planted(workspace, name="Planted compare study"):
    imp, sat, labels = synthetic.generate(N, M, 3, seed=11)
    profile = {"role": [ROLES[s] for s in labels]}
    survey = import_arrays(workspace, imp, sat, name=name, profile=profile)
    return survey, imp, sat


@pytest.fixture
def data(workspace):
    survey, imp, sat = planted(workspace)
    run = runs.analyze_now(survey=survey, parameters={"segments": 3, "seed": 7})
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.segments_found
    return survey, imp, sat


@pytest.fixture
def survey(data):
    return data[0]


def url(survey) -> str:
    return f"/surveys/{survey.pk}/results/compare/"


def group_rows(html: str) -> list[str]:
    table = html.split('class="list compare-groups"')[1].split("</table>")[0]
    return table.split("<tr>")[2:]


def wave_rows(html: str) -> list[str]:
    table = html.split('class="list compare-waves"')[1].split("</table>")[0]
    return table.split("<tr>")[2:]


def difference(row: str) -> float:
    return abs(float(re.search(r'data-label="A − B"><b>(-?[\d.]+)</b>', row).group(1)))


def test_a_segment_against_everyone_else_shows_significant_rows_largest_first(
    client: Client, viewer, survey
):
    client.force_login(viewer)
    page = client.get(url(survey))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'value="segment:1"' in html and 'value="profile:role:Team lead"' in html
    assert 'aria-current="page">Compare</a>' in html

    response = client.get(url(survey), {"a": "segment:1", "b": "rest"})
    assert response.status_code == 200
    html = response.content.decode()
    rows = group_rows(html)
    assert len(rows) == M
    assert sum("badge approved significant" in r for r in rows) >= 2
    diffs = [difference(r) for r in rows]
    assert diffs == sorted(diffs, reverse=True)
    assert "Everyone else" in html and f"<b>{N}</b>" not in html  # two groups, not the whole
    sizes = [int(n) for n in re.findall(r"<li>[AB]: <b>(\d+)</b>", html)]
    assert len(sizes) == 2 and sum(sizes) == N


def test_role_against_role_compares_the_answers_and_escapes_them(client: Client, viewer, survey):
    client.force_login(viewer)
    response = client.get(
        url(survey), {"a": "profile:role:Team lead", "b": "profile:role:<b>Analyst</b>"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    rows = group_rows(html)
    assert len(rows) == M and any("significant" in r for r in rows)
    assert "role = Team lead" in html and "role = &lt;b&gt;Analyst&lt;/b&gt;" in html
    assert "<b>Analyst</b>" not in html
    # A small group is flagged: the threshold is 100 and each role has about 200 here.
    assert "small group" not in html.split("compare-groups")[0].split("Group sizes")[1]


def test_small_groups_are_flagged(client: Client, viewer, survey):
    client.force_login(viewer)
    run = AnalysisRun.objects.get(survey=survey)
    run.parameters = {**run.parameters, "small_group": 1000}
    run.save(update_fields=["parameters"])
    html = client.get(url(survey), {"a": "segment:1", "b": "rest"}).content.decode()
    sizes = html.split("Group sizes")[1].split("</ul>")[0]
    assert sizes.count("small group") == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"a": "segment:99", "b": "rest"}, "Unknown group"),
        ({"a": "profile:role:Nobody", "b": "rest"}, "Unknown group"),
        ({"a": "profile:nope:x", "b": "rest"}, "Unknown group"),
        ({"a": "rest", "b": "segment:1"}, "Unknown group"),
        ({"a": "segment:1"}, "Choose group B"),
        ({"a": "segment:1", "b": "segment:1"}, "the same"),
        ({"a": "x" * 5000, "b": "rest"}, "Unknown group"),
        ({"other": "abc"}, "Choose another survey"),
        ({"other": "987654321"}, "Choose another survey"),
    ],
)
def test_bad_choices_show_an_error_not_a_crash(client: Client, viewer, survey, params, message):
    client.force_login(viewer)
    response = client.get(url(survey), params)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'class="error"' in html and message in html
    assert "compare-groups" not in html and "compare-waves" not in html


def test_outsiders_get_404_and_a_survey_without_a_run_says_so(
    client: Client, outsider, viewer, survey, workspace
):
    client.force_login(outsider)
    assert client.get(url(survey)).status_code == 404
    assert client.get(url(survey), {"a": "segment:1", "b": "rest"}).status_code == 404
    client.logout()
    assert client.get(url(survey)).status_code == 302
    fresh, _, _ = planted(workspace, name="Not analysed")
    client.force_login(viewer)
    response = client.get(url(fresh), {"a": "segment:1", "b": "rest"})
    assert response.status_code == 200
    assert "No analysis has finished" in response.content.decode()


def second_wave(workspace, survey, imp, sat, *, analyse=True):
    """A second survey of the same job; the same answers except O001, now satisfied."""
    wave = create_survey(workspace=workspace, job=survey.job, title="Wave 2")
    publish_survey(survey=wave)
    moved = sat.copy()
    moved[:, 0] = 5
    import_responses(survey=wave, data=wide_csv(imp, moved), options=ImportOptions())
    if analyse:
        run = runs.analyze_now(survey=wave, parameters={"segments": "off"})
        assert run.status == RunStatus.SUCCEEDED, run.error
    return wave


def test_waves_show_the_outcome_whose_satisfaction_moved(
    client: Client, viewer, workspace, data, other_workspace
):
    survey, imp, sat = data
    wave = second_wave(workspace, survey, imp, sat)
    unanalysed = second_wave(workspace, survey, imp, sat, analyse=False)
    client.force_login(viewer)
    html = client.get(url(survey)).content.decode()
    assert f'<option value="{wave.pk}">' in html
    assert f'<option value="{unanalysed.pk}">' not in html

    response = client.get(url(survey), {"other": wave.pk})
    assert response.status_code == 200
    rows = wave_rows(response.content.decode())
    assert len(rows) == M
    assert "<code>O001</code>" in rows[0]  # largest move in satisfaction first
    s_change = float(re.search(r'"Change in S"><b>(-?[\d.]+)</b>', rows[0]).group(1))
    assert s_change < -5  # this survey is much less satisfied than wave 2
    assert "badge approved significant" in rows[0]
    assert not any("badge approved significant" in r for r in rows[1:])

    # From wave 2 looking back, the same move the other way.
    back = client.get(url(wave), {"other": survey.pk}).content.decode()
    first = wave_rows(back)[0]
    assert "<code>O001</code>" in first and 'Change in S"><b>+' in first


def test_waves_offer_only_surveys_of_the_same_job_and_workspace(
    client: Client, viewer, workspace, data, other_workspace
):
    survey = data[0]
    elsewhere, _, _ = planted(other_workspace, name="Other workspace")
    runs.analyze_now(survey=elsewhere, parameters={"segments": "off"})
    other_job, _, _ = planted(workspace, name="Other job")
    runs.analyze_now(survey=other_job, parameters={"segments": "off"})
    client.force_login(viewer)
    html = client.get(url(survey)).content.decode()
    assert "No other survey of this job has a finished analysis yet." in html
    for other in (elsewhere, other_job):
        response = client.get(url(survey), {"other": other.pk})
        assert response.status_code == 400
        assert "compare-waves" not in response.content.decode()
