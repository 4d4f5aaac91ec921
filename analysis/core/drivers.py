"""Drivers of loyalty: which outcomes' satisfaction best explains a loyalty score.

Relative importance by **Johnson's relative weights** (Johnson 2000, *Multivariate Behavioral
Research* 35:1). With standardised predictors X (n × p) and outcome y:

1. R = corr(X) (p × p) = V diag(λ) Vᵀ, r = corr(X, y) (p,).
2. Λ = V diag(√λ) Vᵀ — the correlations between X and its closest orthonormal counterpart Z.
3. β = Λ⁻¹ r — the regression of y on Z (uncorrelated, so each βₖ² is Zₖ's share of R²).
4. raw weight εⱼ = Σₖ Λⱼₖ² βₖ². The εⱼ are ≥ 0 and sum to the model R²; ``share`` = εⱼ / R².

It splits R² among correlated predictors like Shapley/LMG does, at the cost of one eigen
decomposition instead of 2ᵖ regressions, so it works for 150 predictors. Eigenvalues below
1e−10·λ_max (exactly collinear predictors) are dropped (pseudo-inverse).

Data handling: respondents with a missing loyalty score (NaN) are dropped; a missing
satisfaction answer (0) is imputed with that outcome's mean satisfaction among the remaining
respondents (mean imputation keeps every respondent and, for modest missingness, barely moves
the correlations); an outcome nobody rated, or rated identically by everyone, gets weight 0.

Intervals: percentile bootstrap over respondents (``n_resamples``, default 200, seeded); each
replicate recomputes the imputation and the weights. Weights are ≥ 0, so for an outcome that
does not matter the replicates pile up just above 0 and its interval can lie entirely above a
near-zero point estimate; read such intervals as "small", not as evidence of an effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analysis.core._util import Seed, as_ratings, as_rng, quantiles

__all__ = ["DriverResult", "ces_mean", "drivers", "nps", "relative_weights"]


@dataclass(frozen=True)
class DriverResult:
    """Relative weights per outcome, arrays of shape ``(n_outcomes,)``.

    ``weight``: raw relative weight (share of variance of loyalty, sums to ``r_squared``);
    ``share``: weight / r_squared (sums to 1); ``*_lower``/``*_upper``: percentile bootstrap
    bounds; ``ranking``: outcome indices by weight, largest first; ``n``: respondents used.
    """

    weight: NDArray[np.float64]
    weight_lower: NDArray[np.float64]
    weight_upper: NDArray[np.float64]
    share: NDArray[np.float64]
    share_lower: NDArray[np.float64]
    share_upper: NDArray[np.float64]
    r_squared: float
    r_squared_lower: float
    r_squared_upper: float
    ranking: NDArray[np.int64]
    n: int
    n_resamples: int
    confidence: float


def relative_weights(x: ArrayLike, y: ArrayLike) -> NDArray[np.float64]:
    """Johnson's raw relative weights of the columns of ``x`` (n × p, no NaN) for ``y`` (n,).

    Returns ``(p,)``; they sum to the R² of the least-squares regression of y on x. Constant
    columns get weight 0.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    p = x.shape[1]
    out = np.zeros(p)
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    sx = np.sqrt((xc * xc).sum(axis=0))
    sy = float(np.sqrt(yc @ yc))
    keep = sx > 1e-12
    if sy <= 1e-12 or not keep.any():
        return out
    xs = xc[:, keep] / sx[keep]
    r_xx = xs.T @ xs
    r_xy = xs.T @ (yc / sy)
    lam, vec = np.linalg.eigh(r_xx)
    good = lam > 1e-10 * lam.max()
    lam, vec = lam[good], vec[:, good]
    lam_half = (vec * np.sqrt(lam)) @ vec.T  # Λ = V √λ Vᵀ
    beta = (vec / np.sqrt(lam)) @ (vec.T @ r_xy)  # Λ⁻¹ r
    out[keep] = (lam_half**2) @ (beta**2)
    return out


def _prepare(
    satisfaction: ArrayLike, loyalty: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    sat = as_ratings(satisfaction, "satisfaction")
    y = np.asarray(loyalty, dtype=np.float64)
    if y.shape != (sat.shape[0],):
        raise ValueError(f"loyalty has shape {y.shape}, expected ({sat.shape[0]},)")
    keep = np.isfinite(y)
    return sat[keep].astype(np.float64), y[keep]


def _impute(sat: NDArray[np.float64]) -> NDArray[np.float64]:
    answered = sat > 0
    n = answered.sum(axis=0)
    mean = np.where(n > 0, sat.sum(axis=0) / np.maximum(n, 1), 0.0)
    return np.where(answered, sat, mean[None, :])


def drivers(
    satisfaction: ArrayLike,
    loyalty: ArrayLike,
    *,
    n_resamples: int = 200,
    confidence: float = 0.95,
    seed: Seed,
) -> DriverResult:
    """Relative weights of each outcome's satisfaction in explaining ``loyalty``.

    ``satisfaction``: ``(n_respondents, n_outcomes)`` uint8, 1–5, 0 = unanswered.
    ``loyalty``: ``(n_respondents,)`` float, e.g. likelihood to recommend 0–10 or a customer
    effort score 1–7; NaN = missing. See the module docstring for the method.
    """
    sat, y = _prepare(satisfaction, loyalty)
    n, p = sat.shape
    rng = as_rng(seed)
    weight = relative_weights(_impute(sat), y)
    r2 = float(weight.sum())
    reps = np.zeros((n_resamples, p))
    for b in range(n_resamples):
        idx = rng.integers(0, n, size=n)
        reps[b] = relative_weights(_impute(sat[idx]), y[idx])
    r2_reps = reps.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_reps = reps / r2_reps[:, None]
        share = weight / r2 if r2 > 0 else np.full(p, np.nan)
    a = 1.0 - confidence
    wl, wu = quantiles(reps, [a / 2, 1 - a / 2])
    sl, su = quantiles(share_reps, [a / 2, 1 - a / 2])
    rl, ru = quantiles(r2_reps, [a / 2, 1 - a / 2])
    return DriverResult(
        weight=weight,
        weight_lower=wl,
        weight_upper=wu,
        share=share,
        share_lower=sl,
        share_upper=su,
        r_squared=r2,
        r_squared_lower=float(rl),
        r_squared_upper=float(ru),
        ranking=np.argsort(-weight, kind="stable").astype(np.int64),
        n=int(n),
        n_resamples=int(n_resamples),
        confidence=float(confidence),
    )


def nps(scores: ArrayLike) -> float:
    """Net Promoter Score on −100…100: % promoters (9–10) − % detractors (0–6).

    ``scores``: likelihood to recommend, 0–10, NaN = missing (ignored). NaN when nobody answered.
    """
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return float("nan")
    return float(100.0 * (np.count_nonzero(s >= 9) - np.count_nonzero(s <= 6)) / s.size)


def ces_mean(scores: ArrayLike) -> float:
    """Mean customer effort score over the answered values (NaN = missing); NaN if none."""
    s = np.asarray(scores, dtype=np.float64)
    s = s[np.isfinite(s)]
    return float(s.mean()) if s.size else float("nan")
