"""Top-two-box opportunity scoring.

For one outcome ``j`` over a set of respondents:

* ``n_importance[j]``  = number of respondents with an importance answer (rating 1–5);
  ``n_satisfaction[j]`` likewise. The two can differ when someone answered only one of the pair.
* ``importance[j]``  I = 10 × (importance answers rated 4 or 5) / ``n_importance[j]``   (0–10)
* ``satisfaction[j]`` S = 10 × (satisfaction answers rated 4 or 5) / ``n_satisfaction[j]`` (0–10)
* ``opportunity[j]``  O = I + max(I − S, 0)                                            (0–20)
* ``overserved[j]``   S > I
* ``n[j]`` is ``n_importance[j]``: the importance share drives the opportunity (it appears in
  both terms), so the importance base is the sample size reported with the scores. The two
  separate counts are kept for anyone who needs the satisfaction base.

Each share uses its own valid answers: a missing satisfaction answer does not drop the same
respondent's importance answer.

Bands (O unrounded, boundaries exact):

=========  =================  ====
band       condition          code
=========  =================  ====
extreme    O > 15             4
high       12 < O ≤ 15        3
solid      10 < O ≤ 12        2
low        O ≤ 10             1
n/a        O is NaN           0
=========  =================  ====

An outcome with no valid importance answers has I = NaN, and one with no valid satisfaction
answers has S = NaN; in either case O is NaN, the band is ``"n/a"`` (code 0) and ``overserved``
is False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.core._util import Rows, rating_pair, select_rows

__all__ = [
    "BAND_LABELS",
    "AlternativeScores",
    "RatingCounts",
    "Scores",
    "alternative_scores",
    "band_code_of",
    "band_of",
    "count_ratings",
    "opportunity",
    "score",
    "scores_from_counts",
]

#: Band labels indexed by band code.
BAND_LABELS: tuple[str, ...] = ("n/a", "low", "solid", "high", "extreme")


@dataclass(frozen=True)
class RatingCounts:
    """Sufficient statistics of one respondent set, each of shape ``(n_outcomes,)``."""

    n_importance: NDArray[np.int64]
    top2_importance: NDArray[np.int64]
    n_satisfaction: NDArray[np.int64]
    top2_satisfaction: NDArray[np.int64]


@dataclass(frozen=True)
class Scores:
    """Per-outcome scores; every array has shape ``(n_outcomes,)``. See the module docstring."""

    n: NDArray[np.int64]
    n_importance: NDArray[np.int64]
    n_satisfaction: NDArray[np.int64]
    importance: NDArray[np.float64]
    satisfaction: NDArray[np.float64]
    opportunity: NDArray[np.float64]
    band: NDArray[np.str_]
    band_code: NDArray[np.int8]
    overserved: NDArray[np.bool_]

    @property
    def n_outcomes(self) -> int:
        return int(self.importance.shape[0])

    def ranking(self) -> NDArray[np.int64]:
        """Outcome indices by opportunity, highest first; NaN last; ties keep column order."""
        key = np.where(np.isnan(self.opportunity), -np.inf, self.opportunity)
        return np.argsort(-key, kind="stable")


@dataclass(frozen=True)
class AlternativeScores:
    """Alternative per-outcome scores, each of shape ``(n_outcomes,)``; formulas in
    :func:`alternative_scores`."""

    mean_importance: NDArray[np.float64]
    mean_satisfaction: NDArray[np.float64]
    mean_gap: NDArray[np.float64]
    n_both: NDArray[np.int64]
    opportunity_to_add_value: NDArray[np.float64]


def count_ratings(
    importance: ArrayLike, satisfaction: ArrayLike, rows: Rows = None
) -> RatingCounts:
    """Count valid and top-two-box (4 or 5) answers per outcome over ``rows``."""
    imp, sat = rating_pair(importance, satisfaction)
    imp = select_rows(imp, rows)
    sat = select_rows(sat, rows)
    return RatingCounts(
        n_importance=np.count_nonzero(imp, axis=0).astype(np.int64),
        top2_importance=np.count_nonzero(imp >= 4, axis=0).astype(np.int64),
        n_satisfaction=np.count_nonzero(sat, axis=0).astype(np.int64),
        top2_satisfaction=np.count_nonzero(sat >= 4, axis=0).astype(np.int64),
    )


def share10(top: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """10 × top / n elementwise (any shape): a top-two-box count as a 0–10 score; NaN where
    n = 0. The bootstrap applies it to every resample's counts, so it works on any shape."""
    tops = np.asarray(top, dtype=np.float64)
    ns = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ns > 0, 10.0 * tops / np.where(ns > 0, ns, 1.0), np.nan)


def opportunity(importance: ArrayLike, satisfaction: ArrayLike) -> NDArray[np.float64]:
    """O = I + max(I − S, 0) elementwise on 0–10 scores (any shape); NaN in → NaN out."""
    i = np.asarray(importance, dtype=np.float64)
    s = np.asarray(satisfaction, dtype=np.float64)
    return i + np.fmax(i - s, 0.0) + 0.0 * s  # `0*s` carries a NaN satisfaction into O


def band_code_of(o: ArrayLike) -> NDArray[np.int8]:
    """Band codes (see module table) for opportunity scores of any shape."""
    o = np.asarray(o, dtype=np.float64)
    code = np.ones(o.shape, dtype=np.int8)
    code[o > 10] = 2
    code[o > 12] = 3
    code[o > 15] = 4
    code[np.isnan(o)] = 0
    return code


def band_of(o: ArrayLike) -> NDArray[np.str_]:
    """Band labels ``"extreme" | "high" | "solid" | "low" | "n/a"`` for scores of any shape."""
    return np.asarray(BAND_LABELS)[band_code_of(o)]


def scores_from_counts(counts: RatingCounts) -> Scores:
    """Scores from the sufficient statistics (shared by :func:`score` and the bootstrap)."""
    i = share10(counts.top2_importance, counts.n_importance)
    s = share10(counts.top2_satisfaction, counts.n_satisfaction)
    o = opportunity(i, s)
    code = band_code_of(o)
    return Scores(
        n=np.asarray(counts.n_importance, dtype=np.int64),
        n_importance=np.asarray(counts.n_importance, dtype=np.int64),
        n_satisfaction=np.asarray(counts.n_satisfaction, dtype=np.int64),
        importance=i,
        satisfaction=s,
        opportunity=o,
        band=np.asarray(BAND_LABELS)[code],
        band_code=code,
        overserved=np.greater(s, i, where=~(np.isnan(s) | np.isnan(i)), out=np.zeros_like(o, bool)),
    )


def score(importance: ArrayLike, satisfaction: ArrayLike, rows: Rows = None) -> Scores:
    """Top-two-box importance, satisfaction and opportunity per outcome over ``rows``.

    ``importance``, ``satisfaction``: ``(n_respondents, n_outcomes)`` uint8, 0 = unanswered.
    ``rows``: boolean mask ``(n_respondents,)``, integer indices, or None for everyone.
    Returns :class:`Scores` with arrays of shape ``(n_outcomes,)``.
    """
    return scores_from_counts(count_ratings(importance, satisfaction, rows))


def alternative_scores(
    importance: ArrayLike, satisfaction: ArrayLike, rows: Rows = None
) -> AlternativeScores:
    """Alternative per-outcome scores, for researchers who want to cross-check the ranking.

    * ``mean_importance``   = mean of the valid importance ratings (1–5); NaN if none.
    * ``mean_satisfaction`` = mean of the valid satisfaction ratings (1–5); NaN if none.
    * ``mean_gap``          = mean over respondents who answered *both* of (importance −
      satisfaction), −4…4; NaN if nobody answered both. ``n_both`` counts them. (Using only the
      paired answers keeps the gap a within-person quantity; it can differ slightly from
      ``mean_importance − mean_satisfaction`` when missingness differs.)
    * ``opportunity_to_add_value`` = I_share × (1 − S_share), 0–1, where the shares are the
      top-two-box shares on 0–1 (I/10, S/10): the share of people for whom the outcome is important,
      scaled by the share not satisfied — the expected fraction important-and-unsatisfied if the
      two were independent.
    """
    imp, sat = rating_pair(importance, satisfaction)
    imp = select_rows(imp, rows)
    sat = select_rows(sat, rows)
    imp_f = imp.astype(np.float64)
    sat_f = sat.astype(np.float64)
    n_i = np.count_nonzero(imp, axis=0)
    n_s = np.count_nonzero(sat, axis=0)
    both = (imp > 0) & (sat > 0)
    n_b = np.count_nonzero(both, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_i = np.where(n_i > 0, imp_f.sum(axis=0) / n_i, np.nan)
        mean_s = np.where(n_s > 0, sat_f.sum(axis=0) / n_s, np.nan)
        gap = np.where(n_b > 0, np.where(both, imp_f - sat_f, 0.0).sum(axis=0) / n_b, np.nan)
    scores = score(imp, sat)
    return AlternativeScores(
        mean_importance=mean_i,
        mean_satisfaction=mean_s,
        mean_gap=gap,
        n_both=n_b.astype(np.int64),
        opportunity_to_add_value=(scores.importance / 10.0) * (1.0 - scores.satisfaction / 10.0),
    )
