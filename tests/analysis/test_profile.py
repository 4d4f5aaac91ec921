from __future__ import annotations

import numpy as np
import pytest

from analysis.core.profile import (
    categorical_differences,
    profile_segments,
    segment_name,
    shorten_statement,
    two_proportion_test,
)
from analysis.core.scoring import score
from analysis.core.synthetic import generate

STATEMENTS = [
    "Minimize the time it takes to find who on the team has not started using the tool",
    "Minimize the number of questions the team asks about where to find information",
    "Minimize the likelihood that team members revert to the old way of working",
]


def test_shorten_statement_drops_direction_metric_and_clarifier():
    assert shorten_statement(STATEMENTS[0]) == "find who on the team has not started using the tool"
    assert shorten_statement(STATEMENTS[2]) == "team members revert to the old way of working"
    assert (
        shorten_statement("Increase the likelihood that the tool is set up right, e.g. roles")
        == "the tool is set up right"
    )
    assert shorten_statement("find the owner") == "find the owner"


def test_segment_name_is_short_and_starts_with_unmet():
    name = segment_name(STATEMENTS)
    assert name.startswith("Unmet: find who on the team")
    assert len(name) <= 100
    assert "Minimize" not in name
    assert segment_name([]) == "No distinctive unmet outcomes"
    assert len(segment_name(["x" * 200])) <= 100


def test_two_proportion_test_matches_a_hand_computation():
    diff, p = two_proportion_test(60, 100, 40, 100)
    # pooled 0.5, se = sqrt(.25 * .02) = .0707, z = 2.828, p = 0.00468
    assert diff == pytest.approx(0.2)
    assert p == pytest.approx(0.004677, abs=1e-5)
    _, p_same = two_proportion_test(0, 10, 0, 10)
    assert p_same == 1.0


def test_profiles_find_each_segments_planted_unmet_outcomes():
    imp, sat, truth = generate(2000, 30, 3, seed=5201)
    statements = [f"Minimize the time it takes to do task {j}" for j in range(30)]
    result = profile_segments(imp, sat, truth, statements=statements)
    assert len(result.segments) == 3
    assert sum(p.size for p in result.segments) == 2000
    assert sum(p.share for p in result.segments) == pytest.approx(1.0)
    gap = imp.astype(float) - sat
    for prof in result.segments:
        assert prof.distinctive.size >= 3
        top = prof.distinctive[:3]
        inside = gap[truth == prof.segment][:, top].mean()
        outside = gap[truth != prof.segment][:, top].mean()
        assert inside > outside + 1.0
        assert prof.name.startswith("Unmet: do task ")
        assert np.all(prof.q_value[prof.distinctive] < 0.05)
        np.testing.assert_array_equal(
            prof.scores.opportunity,
            score(imp[truth == prof.segment], sat[truth == prof.segment]).opportunity,
        )


def test_categorical_answers_that_differ_by_segment_rank_first():
    rng = np.random.default_rng(5301)
    labels = rng.integers(0, 3, size=1500)
    role = np.where(rng.random(1500) < 0.8, labels, rng.integers(0, 3, 1500)).astype(str)
    noise = rng.choice(["a", "b", "c", None], size=1500)
    result = categorical_differences(labels, [("noise", noise), ("role", role)])
    assert [r.question for r in result] == ["role", "noise"]
    assert result[0].cramers_v > 0.5 and result[0].q_value < 1e-6
    assert result[1].cramers_v < 0.1
    assert result[1].table.sum() < 1500  # missing answers are left out


def test_cramers_v_is_one_for_a_perfect_association():
    labels = np.array([0, 0, 1, 1, 2, 2] * 20)
    result = categorical_differences(labels, [("q", labels.astype(str))])
    assert result[0].cramers_v == pytest.approx(1.0)
