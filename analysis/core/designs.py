"""Planned-subset designs: which outcomes each respondent rates when everyone rates K of N.

Counter-driven allocation: each respondent, in turn, is shown the K outcomes shown least so far,
ties broken at random. The counts stay within one of each other after every respondent (the
balance a design needs for every outcome to end with the same n), the subsets are random
wherever the counts allow, and the whole assignment is reproducible from its seed. Over
respondents every pair of outcomes is rated together about n·K(K−1)/(N(N−1)) times, enough for
correlations and segmentation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analysis.core._util import Seed, as_rng

__all__ = ["counter_allocation"]


def counter_allocation(
    n_respondents: int, n_outcomes: int, k: int, seed: Seed
) -> NDArray[np.bool_]:
    """``(n_respondents, n_outcomes)`` bool: True where the respondent is shown the outcome."""
    if not 0 < k <= n_outcomes:
        raise ValueError(f"k must be between 1 and the {n_outcomes} outcomes, not {k}")
    rng = as_rng(seed)
    shown = np.zeros((n_respondents, n_outcomes), dtype=bool)
    counts = np.zeros(n_outcomes, dtype=np.int64)
    for i in range(n_respondents):
        chosen = np.lexsort((rng.random(n_outcomes), counts))[:k]  # least shown, ties at random
        shown[i, chosen] = True
        counts[chosen] += 1
    return shown
