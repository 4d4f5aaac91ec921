from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.core.scoring import (
    alternative_scores,
    band_code_of,
    band_of,
    opportunity,
    score,
)
from tests.analysis.strategies import rating_matrices


def _published() -> tuple[np.ndarray, np.ndarray]:
    imp = np.array([5] * 200 + [2] * 70, dtype=np.uint8)[:, None]
    sat = np.array([4] * 75 + [3] * 195, dtype=np.uint8)[:, None]
    return imp, sat


def test_published_example_is_reproduced_to_1e9():
    s = score(*_published())
    assert s.n[0] == 270
    assert s.importance[0] == pytest.approx(10 * 200 / 270, abs=1e-9)
    assert s.importance[0] == pytest.approx(7.407407407, abs=1e-9)
    assert s.satisfaction[0] == pytest.approx(2.777777778, abs=1e-9)
    assert s.opportunity[0] == pytest.approx(12.037037037, abs=1e-9)
    assert s.band[0] == "high"
    assert not s.overserved[0]


def test_bands_use_exact_boundaries():
    o = np.array([0.0, 10.0, 10.0000001, 12.0, 12.5, 15.0, 15.0001, 20.0, np.nan])
    assert list(band_of(o)) == [
        "low",
        "low",
        "solid",
        "solid",
        "high",
        "high",
        "extreme",
        "extreme",
        "n/a",
    ]
    assert list(band_code_of(o)) == [1, 1, 2, 2, 3, 3, 4, 4, 0]


def test_band_of_keeps_the_input_shape():
    assert band_of(np.full((2, 3), 13.0)).shape == (2, 3)


def test_outcome_without_answers_scores_nan_and_band_na():
    imp = np.array([[0, 5], [0, 4]], dtype=np.uint8)
    sat = np.array([[0, 0], [0, 0]], dtype=np.uint8)
    s = score(imp, sat)
    assert np.isnan(s.importance[0]) and np.isnan(s.opportunity[0])
    assert s.importance[1] == 10.0 and np.isnan(s.satisfaction[1])
    assert list(s.band) == ["n/a", "n/a"]
    assert not s.overserved.any()
    assert list(s.n) == [0, 2]


def test_missing_answers_are_left_out_of_each_share_separately():
    imp = np.array([[5], [5], [1], [0]], dtype=np.uint8)
    sat = np.array([[0], [5], [1], [1]], dtype=np.uint8)
    s = score(imp, sat)
    assert s.n_importance[0] == 3 and s.n_satisfaction[0] == 3 and s.n[0] == 3
    assert s.importance[0] == pytest.approx(20 / 3)
    assert s.satisfaction[0] == pytest.approx(10 / 3)


def test_ratings_outside_zero_to_five_are_rejected():
    with pytest.raises(ValueError):
        score(np.array([[6]]), np.array([[1]]))
    with pytest.raises(ValueError):
        score(np.array([[1, 2]]), np.array([[1]]))


def test_opportunity_formula():
    assert opportunity(8.0, 3.0) == pytest.approx(13.0)
    assert opportunity(3.0, 8.0) == pytest.approx(3.0)
    assert np.isnan(opportunity(5.0, np.nan))


def test_ranking_puts_highest_opportunity_first_and_nan_last():
    imp = np.array([[5, 1, 0, 5], [5, 1, 0, 4]], dtype=np.uint8)
    sat = np.array([[1, 1, 0, 5], [1, 1, 0, 5]], dtype=np.uint8)
    assert list(score(imp, sat).ranking()) == [0, 3, 1, 2]


def test_alternative_scores_follow_their_formulas():
    imp = np.array([[5, 2], [4, 0], [1, 3]], dtype=np.uint8)
    sat = np.array([[1, 4], [0, 4], [2, 5]], dtype=np.uint8)
    a = alternative_scores(imp, sat)
    np.testing.assert_allclose(a.mean_importance, [10 / 3, 2.5])
    np.testing.assert_allclose(a.mean_satisfaction, [1.5, 13 / 3])
    # gap only over respondents who answered both: outcome 0 rows 0 and 2, outcome 1 rows 0, 2
    np.testing.assert_allclose(a.mean_gap, [(4 + -1) / 2, (-2 + -2) / 2])
    assert list(a.n_both) == [2, 2]
    i_share, s_share = 2 / 3, 0 / 2
    assert a.opportunity_to_add_value[0] == pytest.approx(i_share * (1 - s_share))


@settings(max_examples=150, deadline=None)
@given(rating_matrices())
def test_scores_stay_within_their_bounds(pair):
    s = score(*pair)
    ok = ~np.isnan(s.opportunity)
    assert np.all((s.importance[ok] >= 0) & (s.importance[ok] <= 10))
    assert np.all((s.satisfaction[ok] >= 0) & (s.satisfaction[ok] <= 10))
    assert np.all((s.opportunity[ok] >= 0) & (s.opportunity[ok] <= 20))
    assert np.all(s.opportunity[ok] >= s.importance[ok])
    assert np.array_equal(s.overserved, np.nan_to_num(s.satisfaction, nan=-1) > s.importance)
    assert np.all(s.band[~ok] == "n/a")


@settings(max_examples=100, deadline=None)
@given(rating_matrices(), st.randoms(use_true_random=False))
def test_scores_do_not_depend_on_respondent_order(pair, rnd):
    imp, sat = pair
    perm = np.array(rnd.sample(range(imp.shape[0]), imp.shape[0]))
    a, b = score(imp, sat), score(imp[perm], sat[perm])
    np.testing.assert_array_equal(a.opportunity, b.opportunity)
    np.testing.assert_array_equal(a.band, b.band)


@settings(max_examples=100, deadline=None)
@given(rating_matrices(), st.data())
def test_subgroup_scores_equal_scores_of_the_subset_alone(pair, data):
    imp, sat = pair
    n = imp.shape[0]
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    via_mask = score(imp, sat, mask)
    via_index = score(imp, sat, np.flatnonzero(mask))
    alone = score(imp[mask], sat[mask])
    for got in (via_mask, via_index):
        np.testing.assert_array_equal(got.opportunity, alone.opportunity)
        np.testing.assert_array_equal(got.n, alone.n)
