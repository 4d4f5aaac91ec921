from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import false_discovery_control

from analysis.core.compare import benjamini_hochberg, compare, compare_groups
from analysis.core.synthetic import generate


def test_benjamini_hochberg_matches_a_hand_worked_example():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.20])
    # sorted: .005 .01 .03 .04 .20 → ×5/rank: .025 .025 .05 .05 .20 → running min from the top
    expected = np.array([0.025, 0.05, 0.05, 0.025, 0.20])
    np.testing.assert_allclose(benjamini_hochberg(p), expected)


def test_benjamini_hochberg_leaves_nan_out_of_the_family():
    q = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.04])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_benjamini_hochberg_is_monotone_capped_at_one_and_never_below_p(ps):
    p = np.array(ps)
    q = benjamini_hochberg(p)
    assert np.all(q <= 1.0) and np.all(q >= p - 1e-15)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(q[order]) >= -1e-15)
    np.testing.assert_allclose(q, false_discovery_control(p), rtol=1e-12, atol=1e-15)


def _two_groups(seed: int, lift_outcomes: list[int]):
    rng = np.random.default_rng(seed)
    n, m = 600, 12
    imp_a = np.where(rng.random((n, m)) < 0.5, 5, 2).astype(np.uint8)
    p_b = np.full(m, 0.5)
    p_b[lift_outcomes] = 0.8
    imp_b = np.where(rng.random((n, m)) < p_b, 5, 2).astype(np.uint8)
    sat_a = np.where(rng.random((n, m)) < 0.3, 4, 2).astype(np.uint8)
    sat_b = np.where(rng.random((n, m)) < 0.3, 4, 2).astype(np.uint8)
    return imp_a, sat_a, imp_b, sat_b


def test_a_planted_difference_is_significant_and_the_rest_mostly_not():
    imp_a, sat_a, imp_b, sat_b = _two_groups(77, [2, 5])
    c = compare(imp_a, sat_a, imp_b, sat_b, seed=1)
    assert c.significant[2] and c.significant[5]
    assert c.difference[2] < 0 and c.upper[2] < 0  # B has the higher opportunity
    assert c.significant.sum() <= 3


def test_groups_from_the_same_population_are_mostly_not_different():
    false_hits = 0
    for seed in range(5):
        imp_a, sat_a, imp_b, sat_b = _two_groups(1000 + seed, [])
        c = compare(imp_a, sat_a, imp_b, sat_b, n_resamples=1000, seed=seed)
        false_hits += int(c.significant.sum())
    assert false_hits <= 2  # 60 null outcomes at an FDR of 5 %


def test_identical_groups_have_zero_difference_and_p_near_one():
    imp, sat, _ = generate(400, 10, 0, seed=3)
    c = compare(imp, sat, imp, sat, n_resamples=500, seed=2)
    np.testing.assert_array_equal(c.difference, 0.0)
    assert not c.significant.any()
    assert np.all(c.p_value > 0.2)
    assert np.all(c.lower <= 0) and np.all(c.upper >= 0)


def test_masks_over_one_matrix_equal_two_separate_matrices():
    imp, sat, labels = generate(900, 15, 2, seed=8)
    a, b = labels == 0, labels == 1
    via_masks = compare_groups(imp, sat, a, b, n_resamples=300, seed=5)
    separate = compare(imp[a], sat[a], imp[b], sat[b], n_resamples=300, seed=5)
    np.testing.assert_array_equal(via_masks.difference, separate.difference)
    np.testing.assert_array_equal(via_masks.p_value, separate.p_value)


def test_p_value_agrees_with_the_interval():
    imp, sat, labels = generate(1200, 20, 2, seed=21)
    c = compare_groups(imp, sat, labels == 0, labels == 1, seed=4)
    excludes_zero = (c.lower > 0) | (c.upper < 0)
    agree = excludes_zero == (c.p_value < 0.05)
    assert agree.mean() >= 0.9  # equal up to quantile interpolation at the edge


def test_outcome_without_answers_in_a_group_is_nan_and_not_significant():
    imp = np.array([[5, 0], [4, 0], [5, 5], [1, 5]], dtype=np.uint8)
    sat = np.array([[1, 0], [1, 0], [1, 5], [5, 5]], dtype=np.uint8)
    c = compare_groups(imp, sat, np.array([0, 1]), np.array([2, 3]), n_resamples=50, seed=0)
    assert np.isnan(c.difference[1]) and np.isnan(c.p_value[1]) and not c.significant[1]
    assert c.difference[0] == pytest.approx(20 - 5)  # A: I 10, S 0; B: I 5, S 5
