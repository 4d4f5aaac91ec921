from __future__ import annotations

import numpy as np
import pytest

from analysis.core.scoring import score
from analysis.core.synthetic import generate


def test_generator_returns_uint8_ratings_with_some_missing_and_labels():
    imp, sat, labels = generate(1000, 20, 4, seed=7001)
    assert imp.dtype == sat.dtype == np.uint8
    assert imp.shape == sat.shape == (1000, 20)
    assert imp.max() <= 5 and sat.max() <= 5
    assert 0.01 < (imp == 0).mean() < 0.06
    assert set(np.unique(labels)) == {0, 1, 2, 3}
    sizes = np.bincount(labels)
    assert sizes.max() > 1.3 * sizes.min()  # unequal segment sizes


def test_generator_is_reproducible_from_its_seed():
    a = generate(300, 10, 3, seed=7002)
    b = generate(300, 10, 3, seed=7002)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_no_segment_data_has_one_label_and_similar_marginals():
    imp0, sat0, labels0 = generate(4000, 20, 0, seed=7003)
    assert np.all(labels0 == 0)
    s = score(imp0, sat0)
    assert np.all((s.importance > 0) & (s.importance < 10))


def test_segments_differ_in_which_outcomes_are_unmet():
    imp, sat, labels = generate(3000, 30, 3, seed=7004)
    gap = imp.astype(float) - sat
    means = np.stack([gap[labels == s].mean(axis=0) for s in range(3)])
    tops = [set(np.argsort(-row)[:5]) for row in means]
    assert tops[0] != tops[1] and tops[1] != tops[2]


def test_fixed_shares_give_segments_of_those_sizes():
    _, _, labels = generate(20_000, 30, 3, seed=3, shares=(0.6, 0.3, 0.1))
    sizes = np.bincount(labels) / labels.size
    assert np.allclose(sizes, [0.6, 0.3, 0.1], atol=0.01), sizes
    with pytest.raises(ValueError, match="3 positive numbers"):
        generate(100, 30, 3, seed=3, shares=(0.5, 0.5))
