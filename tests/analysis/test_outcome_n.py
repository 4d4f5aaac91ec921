"""Each outcome is scored on its own answers, and the page says how many: a score resting on few
answers is warned about even when the survey has many respondents."""

from __future__ import annotations

import re

import pytest
from django.utils.html import escape

from analysis import runs
from analysis.models import OutcomeResult, RunStatus
from surveys.importing import import_study
from surveys.wide_csv import ImportOptions

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(workspace):
    """150 respondents; all rate A1, only the first 40 rate A2 (the rest left it blank)."""
    rows = ["respondent_id,imp_A1,sat_A1,imp_A2,sat_A2"]
    for i in range(150):
        a2 = f"{1 + i % 5},{1 + (i * 2) % 5}" if i < 40 else ","
        rows.append(f"r{i},{1 + i % 5},{1 + (i * 3) % 5},{a2}")
    return import_study(
        workspace=workspace, name="Study", data="\n".join(rows), options=ImportOptions()
    ).survey


def test_an_outcome_with_few_answers_is_warned_about_and_its_n_shown(client, viewer, survey):
    run = runs.analyze_now(survey=survey, parameters={"segments": "off"})
    assert run.status == RunStatus.SUCCEEDED, run.error
    stored = {r.code: r for r in OutcomeResult.objects.filter(run=run, segment=None)}
    assert (stored["A1"].n, stored["A2"].n) == (150, 40)
    assert (stored["A1"].small_group, stored["A2"].small_group) == (False, True)
    assert run.warnings[0] == (
        "1 outcome has fewer than 100 importance answers (A2): read its scores with care; "
        "each one's n is beside it."
    )

    client.force_login(viewer)
    html = client.get(f"/surveys/{survey.pk}/results/").content.decode()
    assert escape(run.warnings[0]) in html
    cells = re.findall(
        r'<td data-label="Answers">(\d+)( <span class="badge warn">few answers</span>)?', html
    )
    assert sorted(cells) == [("150", ""), ("40", ' <span class="badge warn">few answers</span>')]
