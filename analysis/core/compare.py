"""Compare opportunity between two groups of respondents, outcome by outcome.

Groups are either two row selections of one matrix pair (:func:`compare_groups`) or two
separate matrix pairs whose outcome columns are aligned (:func:`compare`).

For each outcome j:

* ``difference[j]`` = O_A[j] − O_B[j] (the point estimates on each group's own valid answers);
* interval: percentile bootstrap of D* = O*_A − O*_B, where each group is resampled on its own
  (respondents with replacement within the group, independently across groups — the groups are
  independent samples). Each group's replicates use the exact per-outcome cell multinomial of
  :mod:`analysis.core.bootstrap`;
* ``p_value``: two-sided bootstrap p-value by inverting the percentile interval,
  p = min(1, 2 · min(#{D* ≤ 0} + 1, #{D* ≥ 0} + 1) / (B + 1)).
  It is the smallest α at which the (1 − α) percentile interval excludes 0, so "p < 0.05" and
  "the 95 % interval excludes 0" agree. It makes no normality assumption, which matters because
  O = I + max(I − S, 0) has a kink at I = S where delta-method standard errors break down.
  The +1 terms keep p > 0 (the resolution is 2 / (B + 1); B defaults to 2,000);
* ``q_value``: Benjamini–Hochberg adjusted p-values over the outcomes (false discovery rate);
* ``significant``: q < ``alpha`` (default 0.05).

Outcomes where either group has no valid answers get NaN throughout and are left out of the BH
family.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.core._util import Rows, Seed, as_rng, quantiles
from analysis.core.bootstrap import cell_counts, cell_replicates
from analysis.core.scoring import Scores, score

__all__ = ["Comparison", "benjamini_hochberg", "compare", "compare_groups"]


@dataclass(frozen=True)
class Comparison:
    """Per-outcome comparison of groups A and B; arrays have shape ``(n_outcomes,)``."""

    scores_a: Scores
    scores_b: Scores
    difference: NDArray[np.float64]
    lower: NDArray[np.float64]
    upper: NDArray[np.float64]
    p_value: NDArray[np.float64]
    q_value: NDArray[np.float64]
    significant: NDArray[np.bool_]
    confidence: float
    n_resamples: int
    alpha: float


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg adjusted p-values (q-values), same shape as ``p_values``.

    With the m finite p-values sorted ascending p_(1) ≤ … ≤ p_(m):
    q_(i) = min over r ≥ i of min(1, m · p_(r) / r). NaN entries stay NaN and do not count in m.
    Rejecting every hypothesis with q < α controls the false discovery rate at α (for independent
    or positively dependent tests).
    """
    p = np.asarray(p_values, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    flat_p = p.ravel()
    flat_q = q.ravel()
    ok = np.flatnonzero(np.isfinite(flat_p))
    m = ok.size
    if m == 0:
        return q
    order = ok[np.argsort(flat_p[ok], kind="stable")]
    ranked = flat_p[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    flat_q[order] = np.minimum(ranked, 1.0)
    return flat_q.reshape(p.shape)


def _bootstrap_p(diff_reps: NDArray[np.float64]) -> NDArray[np.float64]:
    valid = ~np.isnan(diff_reps)
    b = valid.sum(axis=0)
    le = ((diff_reps <= 0) & valid).sum(axis=0)
    ge = ((diff_reps >= 0) & valid).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2.0 * (np.minimum(le, ge) + 1) / (b + 1))
    return np.where(b > 0, p, np.nan)


def compare(
    importance_a: ArrayLike,
    satisfaction_a: ArrayLike,
    importance_b: ArrayLike,
    satisfaction_b: ArrayLike,
    *,
    rows_a: Rows = None,
    rows_b: Rows = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    alpha: float = 0.05,
    seed: Seed,
) -> Comparison:
    """Compare group A (``importance_a``/``satisfaction_a`` [``rows_a``]) with group B.

    All matrices are ``(n_respondents_of_that_matrix, n_outcomes)`` uint8 with the same outcome
    columns. Returns :class:`Comparison` (A − B); see the module docstring for the statistics.
    """
    rng = as_rng(seed)
    sa = score(importance_a, satisfaction_a, rows_a)
    sb = score(importance_b, satisfaction_b, rows_b)
    if sa.n_outcomes != sb.n_outcomes:
        raise ValueError("the two groups must have the same outcome columns")
    cells_a = cell_counts(importance_a, satisfaction_a, rows_a)
    cells_b = cell_counts(importance_b, satisfaction_b, rows_b)
    _, _, oa = cell_replicates(cells_a, n_resamples, rng)
    _, _, ob = cell_replicates(cells_b, n_resamples, rng)
    reps = oa - ob
    diff = sa.opportunity - sb.opportunity
    a = 1.0 - confidence
    lo, hi = quantiles(reps, [a / 2, 1 - a / 2])
    p = np.where(np.isnan(diff), np.nan, _bootstrap_p(reps))
    q = benjamini_hochberg(p)
    return Comparison(
        scores_a=sa,
        scores_b=sb,
        difference=diff,
        lower=np.where(np.isnan(diff), np.nan, lo),
        upper=np.where(np.isnan(diff), np.nan, hi),
        p_value=p,
        q_value=q,
        significant=np.nan_to_num(q, nan=1.0) < alpha,
        confidence=float(confidence),
        n_resamples=int(n_resamples),
        alpha=float(alpha),
    )


def compare_groups(
    importance: ArrayLike,
    satisfaction: ArrayLike,
    rows_a: Rows,
    rows_b: Rows,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    alpha: float = 0.05,
    seed: Seed,
) -> Comparison:
    """Compare two row selections (masks or index arrays) of the same matrices: A − B."""
    return compare(
        importance,
        satisfaction,
        importance,
        satisfaction,
        rows_a=rows_a,
        rows_b=rows_b,
        n_resamples=n_resamples,
        confidence=confidence,
        alpha=alpha,
        seed=seed,
    )
