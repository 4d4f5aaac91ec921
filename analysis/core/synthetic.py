"""Planted-segment survey data for tests and benchmarks.

Model, per respondent i and outcome j (latent scores on the 1–5 scale, then rounded and clipped):

* every outcome has a base importance ``a_j ~ U(2.4, 3.8)`` and base satisfaction
  ``b_j ~ U(2.8, 4.0)``;
* respondent i has an unmet set ``U_i``. With segments, segment s has its own set ``U_s`` of
  ``n_unmet`` outcomes (drawn without overlap while outcomes last) and a member has each outcome
  of ``U_s`` unmet with probability ``adherence`` (so segments are fuzzy, not identical people).
  Without segments (``n_segments`` 0 or 1) outcome j is unmet for each respondent independently
  with probability equal to its population share of unmet in a segmented draw (same marginal
  structure, no clusters); or, with ``continuous_need``, one need that varies by degree: every
  respondent has the first set's outcomes unmet to a degree t_i ~ U(0, 2) (the shift below
  times t_i: one continuum, no groups);
* importance = a_j + ``lift``·[j ∈ U_i] + style_i + noise;  satisfaction = b_j −
  ``lift``·[j ∈ U_i] + style_i + noise; noise ~ N(0, ``noise_sd``);
* rating style: style_i ~ N(0, ``style_sd``) shifts the whole scale (both questions) up or down;
  a share ``narrow_share`` of respondents compresses everything towards 3 (x → 3 + 0.45 (x − 3))
  and some of those sit high on the scale (extreme yes-sayers);
* segment sizes are unequal: shares ∝ 1, 0.8, 0.65, ... with a random permutation;
* each answer is missing (0) with probability ``missing_rate``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analysis.core._util import Seed, as_rng

__all__ = ["generate"]


def generate(
    n_respondents: int,
    n_outcomes: int,
    n_segments: int,
    seed: Seed,
    *,
    n_unmet: int | None = None,
    lift: float = 1.1,
    adherence: float = 0.85,
    noise_sd: float = 0.8,
    style_sd: float = 0.6,
    narrow_share: float = 0.2,
    missing_rate: float = 0.03,
    shares: tuple[float, ...] | None = None,
    continuous_need: bool = False,
) -> tuple[NDArray[np.uint8], NDArray[np.uint8], NDArray[np.int64]]:
    """Generate ``(importance, satisfaction, true_labels)``.

    ``importance``, ``satisfaction``: ``(n_respondents, n_outcomes)`` uint8, 1–5, 0 = missing.
    ``true_labels``: ``(n_respondents,)`` segment of each respondent, 0…n_segments−1 (all 0 when
    ``n_segments`` ≤ 1). ``n_unmet`` defaults to ``max(3, n_outcomes // (n_segments + 2))``
    outcomes per segment. ``shares`` fixes the segments' population shares (one per segment,
    in label order, normalised); by default they are unequal as the module docstring says.
    ``continuous_need`` (without segments only): one need by degree instead of independent ones.
    """
    if continuous_need and n_segments >= 2:
        raise ValueError("continuous_need is a population without segments: give n_segments 0")
    rng = as_rng(seed)
    n, m = int(n_respondents), int(n_outcomes)
    structured = n_segments >= 2
    g = max(int(n_segments), 1) if structured else 3  # marginals of a 3-segment population
    size = n_unmet if n_unmet is not None else max(3, m // (g + 2))

    order = rng.permutation(m)
    sets = [order[(s * size) % m : (s * size) % m + size] for s in range(g)]
    default = 1.0 / (1.0 + 0.25 * np.arange(g)) ** 1.6
    p_segment: NDArray[np.float64] = rng.permutation(default / default.sum())
    if shares is not None:
        if len(shares) != g or min(shares) <= 0:
            raise ValueError(f"shares needs {g} positive numbers, one per segment")
        p_segment = np.asarray(shares, dtype=np.float64) / float(np.sum(shares))

    a = rng.uniform(2.4, 3.8, size=m)
    b = rng.uniform(2.8, 4.0, size=m)

    member = np.zeros((g, m), dtype=bool)
    for s, outs in enumerate(sets):
        member[s, outs] = True

    if structured:
        labels = rng.choice(g, size=n, p=p_segment).astype(np.int64)
        unmet = member[labels] & (rng.random((n, m)) < adherence)
    else:
        labels = np.zeros(n, dtype=np.int64)
        p_unmet = adherence * (p_segment[:, None] * member).sum(axis=0)  # (m,)
        unmet = rng.random((n, m)) < p_unmet[None, :]

    style = rng.normal(0.0, style_sd, size=(n, 1))
    shift = lift * unmet
    if continuous_need:
        shift = lift * member[0][None, :] * rng.uniform(0.0, 2.0, size=(n, 1))
    imp = a[None, :] + shift + style + rng.normal(0.0, noise_sd, size=(n, m))
    sat = b[None, :] - shift + style + rng.normal(0.0, noise_sd, size=(n, m))
    narrow = rng.random(n) < narrow_share
    centre = np.where(rng.random(n) < 0.5, 3.0, 4.0)[:, None]
    imp[narrow] = centre[narrow] + 0.45 * (imp[narrow] - 3.0)
    sat[narrow] = centre[narrow] + 0.45 * (sat[narrow] - 3.0)

    imp_u8 = np.clip(np.rint(imp), 1, 5).astype(np.uint8)
    sat_u8 = np.clip(np.rint(sat), 1, 5).astype(np.uint8)
    imp_u8[rng.random((n, m)) < missing_rate] = 0
    sat_u8[rng.random((n, m)) < missing_rate] = 0
    return imp_u8, sat_u8, labels
