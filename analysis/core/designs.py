"""Planned-subset designs: which outcomes each respondent rates when everyone rates K of N.

Counter-driven allocation: each respondent, in turn, is shown the K outcomes shown least so far,
ties broken at random. The counts stay within one of each other after every respondent (the
balance a design needs for every outcome to end with the same n), the subsets are random
wherever the counts allow, and the whole assignment is reproducible from its seed: respondent i's
tie-break comes from (seed, i) alone. Over respondents every pair of outcomes is rated together
about n·K(K−1)/(N(N−1)) times, enough for correlations and segmentation.

Why not a balanced incomplete block design: those exist only for some (N, K) and balance only
after whole blocks of respondents, while fieldwork stops at any count and must stay balanced at
every point. The counter needs one shared row of counts, which fielding keeps in the database
(surveys/design.py) and updates one respondent at a time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["counter_allocation", "next_subset"]


def next_subset(counts: NDArray[np.int64], k: int, seed: int, index: int) -> NDArray[np.intp]:
    """The positions respondent number `index` (0-based) rates, given how often each outcome
    has been shown before them: the `k` least shown, ties broken by (seed, index)."""
    if not 0 < k <= len(counts):
        raise ValueError(f"k must be between 1 and the {len(counts)} outcomes, not {k}")
    tie_break = np.random.default_rng([seed, index]).random(len(counts))
    return np.sort(np.lexsort((tie_break, counts))[:k])


def counter_allocation(n_respondents: int, n_outcomes: int, k: int, seed: int) -> NDArray[np.bool_]:
    """``(n_respondents, n_outcomes)`` bool: True where the respondent is shown the outcome."""
    if not 0 < k <= n_outcomes:
        raise ValueError(f"k must be between 1 and the {n_outcomes} outcomes, not {k}")
    shown = np.zeros((n_respondents, n_outcomes), dtype=bool)
    counts = np.zeros(n_outcomes, dtype=np.int64)
    for i in range(n_respondents):
        chosen = next_subset(counts, k, seed, i)
        shown[i, chosen] = True
        counts[chosen] += 1
    return shown
