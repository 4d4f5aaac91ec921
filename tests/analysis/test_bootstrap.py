from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.core.bootstrap import (
    bootstrap_scores,
    cell_counts,
    marginal_intervals,
    small_group_warning,
)
from analysis.core.scoring import score
from analysis.core.synthetic import generate
from tests.analysis.strategies import rating_matrices


@pytest.fixture(scope="module")
def survey():
    imp, sat, _ = generate(1500, 30, 3, seed=5150)
    return imp, sat


@settings(max_examples=40, deadline=None)
@given(rating_matrices(max_rows=30, max_cols=5), st.integers(0, 2**32 - 1))
def test_interval_bounds_are_ordered_and_within_the_score_ranges(pair, seed):
    r = bootstrap_scores(*pair, n_resamples=50, top_k=2, seed=seed)
    iv = r.intervals
    for lo, hi, top in (
        (iv.importance_lower, iv.importance_upper, 10),
        (iv.satisfaction_lower, iv.satisfaction_upper, 10),
        (iv.opportunity_lower, iv.opportunity_upper, 20),
    ):
        ok = ~np.isnan(lo)
        assert np.all(lo[ok] <= hi[ok])
        assert np.all((lo[ok] >= 0) & (hi[ok] <= top))
    assert np.all((r.p_top_k >= 0) & (r.p_top_k <= 1))


@settings(max_examples=40, deadline=None)
@given(rating_matrices(max_rows=30, max_cols=5), st.integers(0, 2**32 - 1))
def test_cell_intervals_are_ordered_and_nan_only_without_answers(pair, seed):
    iv = marginal_intervals(*pair, n_resamples=50, seed=seed)
    s = score(*pair)
    ok = ~np.isnan(s.opportunity)
    assert np.all(iv.opportunity_lower[ok] <= iv.opportunity_upper[ok])
    assert np.all(np.isnan(iv.opportunity_lower[~ok]))


def test_point_estimates_fall_inside_their_intervals(survey):
    r = bootstrap_scores(*survey, n_resamples=400, seed=1)
    s, iv = r.scores, r.intervals
    assert np.all((iv.importance_lower <= s.importance) & (s.importance <= iv.importance_upper))
    assert np.all(
        (iv.satisfaction_lower <= s.satisfaction) & (s.satisfaction <= iv.satisfaction_upper)
    )
    inside = (iv.opportunity_lower <= s.opportunity) & (s.opportunity <= iv.opportunity_upper)
    assert inside.mean() >= 0.95  # O's kink can push a point estimate to an interval's edge


def test_joint_and_cell_resampling_agree_on_the_intervals(survey):
    joint = bootstrap_scores(*survey, n_resamples=1000, seed=2).intervals
    cells = marginal_intervals(*survey, n_resamples=1000, seed=3)
    width = joint.opportunity_upper - joint.opportunity_lower
    assert np.all(np.abs(joint.opportunity_lower - cells.opportunity_lower) < 0.2 * width + 0.05)
    assert np.all(np.abs(joint.opportunity_upper - cells.opportunity_upper) < 0.2 * width + 0.05)


def test_interval_width_matches_the_binomial_standard_error():
    # 1,000 respondents, importance share 0.5: SE(I) = 10 * sqrt(.25 / 1000) = 0.158.
    rng = np.random.default_rng(0)
    imp = np.where(rng.random((1000, 1)) < 0.5, 5, 1).astype(np.uint8)
    sat = np.full((1000, 1), 3, dtype=np.uint8)
    iv = bootstrap_scores(imp, sat, n_resamples=2000, seed=4).intervals
    se = 10 * np.sqrt(
        score(imp, sat).importance[0] / 10 * (1 - score(imp, sat).importance[0] / 10) / 1000
    )
    assert iv.importance_upper[0] - iv.importance_lower[0] == pytest.approx(2 * 1.96 * se, rel=0.1)


def test_same_seed_gives_the_same_intervals_and_another_seed_does_not(survey):
    a = bootstrap_scores(*survey, n_resamples=200, seed=9)
    b = bootstrap_scores(*survey, n_resamples=200, seed=9)
    c = bootstrap_scores(*survey, n_resamples=200, seed=10)
    np.testing.assert_array_equal(a.intervals.opportunity_lower, b.intervals.opportunity_lower)
    np.testing.assert_array_equal(a.p_top_k, b.p_top_k)
    assert not np.array_equal(a.intervals.opportunity_lower, c.intervals.opportunity_lower)


def test_clear_leaders_are_always_in_the_top_k_and_clear_laggards_never():
    n = 800
    rng = np.random.default_rng(11)
    p_imp = np.linspace(0.95, 0.2, 20)  # outcome 0 clearly the biggest opportunity
    imp = np.where(rng.random((n, 20)) < p_imp, 5, 2).astype(np.uint8)
    sat = np.where(rng.random((n, 20)) < 0.3, 5, 2).astype(np.uint8)
    r = bootstrap_scores(imp, sat, n_resamples=300, top_k=5, seed=12)
    assert np.all(r.p_top_k[:3] == 1.0)
    assert np.all(r.p_top_k[10:] == 0.0)
    assert r.p_top_k.sum() == pytest.approx(5.0, abs=0.05)  # no ties here
    assert r.rank_median[0] == 1 and r.rank_lower[0] == 1
    assert np.all(r.rank_lower <= r.rank_median) and np.all(r.rank_median <= r.rank_upper)


def test_tied_outcomes_share_the_top_k_probability():
    imp = np.tile(np.array([[5, 5, 1]], dtype=np.uint8), (50, 1))
    sat = np.ones_like(imp)
    r = bootstrap_scores(imp, sat, n_resamples=20, top_k=1, seed=0)
    assert list(r.p_top_k) == [1.0, 1.0, 0.0]  # ties at the boundary count as in


def test_subgroup_bootstrap_uses_only_its_rows(survey):
    imp, sat = survey
    mask = np.zeros(imp.shape[0], dtype=bool)
    mask[:80] = True
    r = bootstrap_scores(imp, sat, mask, n_resamples=100, seed=1)
    assert np.all(r.scores.n <= 80)
    assert r.small_group.all()
    np.testing.assert_array_equal(r.scores.opportunity, score(imp[:80], sat[:80]).opportunity)


def test_small_group_warning_flags_groups_below_the_threshold():
    assert list(small_group_warning(np.array([0, 99, 100, 500]))) == [True, True, False, False]
    assert bool(small_group_warning(30, threshold=25)) is False


def test_cell_counts_sum_to_the_number_of_respondents(survey):
    cells = cell_counts(*survey)
    assert cells.shape == (survey[0].shape[1], 9)
    assert np.all(cells.sum(axis=1) == survey[0].shape[0])
