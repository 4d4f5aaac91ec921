"""Counter-driven planned subsets: balanced after every respondent, reproducible, random where
the counts allow."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.core.designs import counter_allocation, next_subset


def test_every_respondent_rates_k_and_counts_stay_within_one_after_each_respondent():
    shown = counter_allocation(301, 150, 50, seed=1)
    assert (shown.sum(axis=1) == 50).all()
    running = np.cumsum(shown, axis=0)
    assert (running.max(axis=1) - running.min(axis=1) <= 1).all()


def test_the_design_is_reproducible_from_its_seed_and_differs_between_seeds():
    a, b = counter_allocation(60, 30, 10, seed=5), counter_allocation(60, 30, 10, seed=5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, counter_allocation(60, 30, 10, seed=6))


def test_every_pair_of_outcomes_is_rated_together_about_as_often_as_expected():
    n, m, k = 1000, 150, 50
    shown = counter_allocation(n, m, k, seed=2).astype(np.int64)
    together = shown.T @ shown
    pairs = together[np.triu_indices(m, 1)]
    expected = n * k * (k - 1) / (m * (m - 1))  # about 110
    assert pairs.min() > 0.6 * expected and pairs.max() < 1.4 * expected, (pairs.min(), pairs.max())


@pytest.mark.parametrize("k", [0, 31])
def test_a_k_outside_the_outcomes_is_refused(k):
    with pytest.raises(ValueError, match="k must be between 1 and the 30 outcomes"):
        counter_allocation(10, 30, k, seed=1)


def test_one_respondent_at_a_time_gives_the_whole_allocation():
    """Fielding assigns respondents one by one from stored counts: the same subsets."""
    whole = counter_allocation(40, 12, 5, seed=9)
    counts = np.zeros(12, dtype=np.int64)
    for i in range(40):
        chosen = next_subset(counts, 5, 9, i)
        assert np.array_equal(np.flatnonzero(whole[i]), chosen)
        counts[chosen] += 1
