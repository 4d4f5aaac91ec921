from __future__ import annotations

import numpy as np
import pytest

from analysis.core.drivers import ces_mean, drivers, nps, relative_weights


def test_nps_is_promoters_minus_detractors_in_percent():
    assert nps([10, 9, 8, 7, 6, 0, np.nan]) == pytest.approx(100 * (2 - 2) / 6)
    assert nps([10, 10, 3]) == pytest.approx(100 / 3)
    assert np.isnan(nps([np.nan]))


def test_ces_mean_ignores_missing():
    assert ces_mean([1, 7, np.nan]) == 4.0
    assert np.isnan(ces_mean([]))


def test_relative_weights_sum_to_the_regression_r_squared():
    rng = np.random.default_rng(6101)
    x = rng.normal(size=(500, 6))
    x[:, 1] += 0.7 * x[:, 0]  # correlated predictors
    y = x @ np.array([1.0, 0.5, 0.0, 0.3, 0.0, 0.0]) + rng.normal(size=500)
    w = relative_weights(x, y)
    design = np.column_stack([np.ones(500), x])
    resid = y - design @ np.linalg.lstsq(design, y, rcond=None)[0]
    r2 = 1 - resid @ resid / ((y - y.mean()) @ (y - y.mean()))
    assert w.sum() == pytest.approx(r2, rel=1e-9)
    assert np.all(w >= 0)


def test_relative_weights_of_uncorrelated_predictors_are_squared_correlations():
    rng = np.random.default_rng(6102)
    q, _ = np.linalg.qr(rng.normal(size=(300, 3)))  # exactly orthogonal, centred below
    x = q - q.mean(axis=0)
    x, _ = np.linalg.qr(x)
    y = x @ np.array([3.0, 1.0, 0.0]) + 0.01 * rng.normal(size=300)
    r = np.array([np.corrcoef(x[:, j], y)[0, 1] for j in range(3)])
    np.testing.assert_allclose(relative_weights(x, y), r**2, rtol=1e-2, atol=1e-4)


def test_planted_driver_outcomes_rank_top_with_intervals():
    rng = np.random.default_rng(6103)
    n, p = 1200, 25
    sat = rng.integers(1, 6, size=(n, p)).astype(np.uint8)
    sat[rng.random((n, p)) < 0.05] = 0
    filled = np.where(sat > 0, sat, 3).astype(float)
    loyalty = 2.0 * filled[:, 7] + 1.5 * filled[:, 3] + 1.0 * filled[:, 19] + rng.normal(0, 2, n)
    loyalty[rng.random(n) < 0.05] = np.nan
    result = drivers(sat, loyalty, n_resamples=100, seed=1)
    assert list(result.ranking[:3]) == [7, 3, 19]
    assert result.share.sum() == pytest.approx(1.0)
    assert np.all(result.weight_lower <= result.weight_upper)
    for j in (7, 3, 19):  # real drivers sit inside their intervals
        assert result.weight_lower[j] <= result.weight[j] <= result.weight_upper[j]
    assert result.weight_lower[7] > result.weight_upper[0]  # driver clearly above a non-driver
    assert 0 < result.r_squared_lower <= result.r_squared <= result.r_squared_upper
    assert result.n == int(np.isfinite(loyalty).sum())


def test_a_constant_outcome_gets_zero_weight():
    rng = np.random.default_rng(6104)
    sat = rng.integers(1, 6, size=(200, 3)).astype(np.uint8)
    sat[:, 1] = 4
    y = sat[:, 0].astype(float) + rng.normal(size=200)
    result = drivers(sat, y, n_resamples=20, seed=0)
    assert result.weight[1] == 0.0


def test_same_seed_gives_the_same_driver_intervals():
    rng = np.random.default_rng(6105)
    sat = rng.integers(1, 6, size=(300, 5)).astype(np.uint8)
    y = sat[:, 0] + rng.normal(size=300)
    a = drivers(sat, y, n_resamples=30, seed=3)
    b = drivers(sat, y, n_resamples=30, seed=3)
    np.testing.assert_array_equal(a.weight_lower, b.weight_lower)
