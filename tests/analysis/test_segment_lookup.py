"""One rule finds a segment of a run, wherever it is asked for (pages, API, exports, commands):
its number, as a number or digits, or its generated or given name, whatever the letter case."""

from __future__ import annotations

import pytest

from analysis.models import AnalysisRun, RunStatus, SegmentNotFound, SegmentResult
from surveys.services import create_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(workspace, job):
    survey = create_survey(workspace=workspace, job=job, title="Segments")
    return AnalysisRun.objects.create(survey=survey, status=RunStatus.SUCCEEDED)


def add_segments(run: AnalysisRun, *names: str) -> list[SegmentResult]:
    return [
        SegmentResult.objects.create(run=run, number=i, name=name, size=10, share=0.5)
        for i, name in enumerate(names, start=1)
    ]


def test_a_segment_is_found_by_number_digits_or_name_in_any_case(run):
    first, second = add_segments(run, "Unmet: setup time", "Unmet: visibility")
    second.rename("Visibility seekers")
    assert run.find_segment(2) == second
    assert run.find_segment(" 1 ") == first
    assert run.find_segment("UNMET: SETUP TIME") == first
    assert run.find_segment("visibility seekers") == second
    assert run.find_segment("Unmet: visibility") == second  # the generated name still works


@pytest.mark.parametrize("value", [3, "3", "0", "seekers", "", "9" * 5000, True, None])
def test_anything_else_is_not_found_and_the_message_lists_the_segments(run, value):
    add_segments(run, "Unmet: setup time", "Unmet: visibility")
    with pytest.raises(SegmentNotFound) as raised:
        run.find_segment(value)
    message = str(raised.value)
    assert message.startswith("No segment") and f"analysis {run.pk}" in message
    assert "1 (Unmet: setup time), 2 (Unmet: visibility)" in message
    assert len(message) < 300  # a long value is cut in the message


def test_a_run_without_segments_says_everyone_is_one_group(run):
    with pytest.raises(SegmentNotFound, match="found no segments: everyone is one group"):
        run.find_segment(1)
