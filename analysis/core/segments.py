"""Outcome-based segmentation: group respondents by *which outcomes are unmet for them*.

Method
======

1. **Features** (:func:`unmet_features`). For respondent i and outcome j answered on both
   questions, gap_ij = importance_ij − satisfaction_ij (−4…4; high = important and unsatisfied).
   Each respondent's gaps are ipsatised: centred on the respondent's own mean gap and divided by
   the respondent's own standard deviation of gaps (floored at 0.5 so near-constant raters are
   not blown up). A shift of the whole scale (yea-sayers, nay-sayers) or a narrow range then
   drops out; what remains is *which outcomes stand out* as unmet for that person. A missing
   pair takes the outcome's mean standardised gap among the respondents who answered it (not
   the respondent's own mean, 0: with planned subsets that set the people not shown an outcome
   apart from those shown it, and 3,000 respondents rating 50 of 150 outcomes came back as 6–7
   segments instead of 3; bench/bench_planned_missing.py). Respondents with fewer
   than ``min_answers`` answered pairs get all-zero features and are left out of model fitting
   (they are still assigned a segment).
2. **Reduction**: PCA to ``n_components`` (default 10, ≥ k_max + 2) fitted on the subsample.
   Segment differences live in a (k − 1)-dimensional subspace; dropping the remaining noise
   dimensions makes distances, silhouettes and k-means far more reliable.
3. **Choosing k** on a random subsample of ``subsample`` respondents (default 3,000), for each
   k in ``k_range`` (default 2…8), k-means (``n_init`` starts) gives a reference solution and:

   * *separation*: mean silhouette of the reference solution;
   * *null silhouette*: the same k-means + silhouette on ``n_null`` data sets drawn from a
     single multivariate normal with the subsample's covariance (diagonal in PCA space, with the
     PCA variances). That is the "no segments" reference: it has the same spread and the same
     elongation (a dominant continuous factor) as the data, but one mode. k-means will always
     cut such data somewhere, and on an elongated cloud the cut along the long axis is even
     reproducible — so stability alone cannot tell segments from a continuum;
   * *distinctness* = silhouette − null silhouette; distinct when ≥ ``min_distinctness``
     (default 0.05; on structureless data it is within ±0.01, on planted 3–5 segment data
     0.1–0.2);
   * *stability* (Hennig 2007, with ARI in place of Jaccard): ``n_stability`` bootstrap
     resamples of the subsample are clustered afresh; each is compared with the reference
     labels on the distinct resampled respondents by the adjusted Rand index (the resampled
     model's ``predict`` against the reference labels). Stable when the mean ARI ≥
     ``min_stability`` (0.75, Hennig's "stable" level);
   * *separation*: for every pair of segments, their members are projected on the line
     through the two centres and the density of the projections (a Gaussian kernel estimate)
     is read between the two segments' medians: the *valley* is its lowest value there over
     the lower of the densities at the two medians. Separated when every pair's valley is at
     most ``max_valley`` (0.8). One need that varies by degree (a uniform continuum, not a
     Gaussian one, which the one-mode reference already catches) is cut by k-means into
     "stable" and "distinct" halves, but the density between them is flat (valley 0.95–1.0);
     planted segments show a clear dip (0.02–0.5, also on planned subsets of 1,000
     respondents), and an over-split segment shows none (1.0).

   **Rule**: among k that are stable, distinct and separated, choose the k with the largest
   distinctness (the k at which the data beat the one-mode reference most clearly; over-split
   solutions lose silhouette, under-split ones gain less). **If no k is stable, distinct and
   separated, no segments are reported**: ``found=False``, ``k=1``, everyone in segment 0, and
   ``reason`` says why.
4. **Assignment**: everyone (including respondents outside the subsample) is projected with the
   subsample PCA and assigned by a k-means run on all respondents started from the reference
   centroids (a few Lloyd iterations). Labels are renumbered by size: segment 0 is the largest.

With a researcher's ``k``, that k is used (found=True for k ≥ 2) and its stability,
distinctness and separation are still measured and reported in ``reason`` and ``diagnostics``.

Scaling: everything but the final assignment runs on the subsample, so 100,000 × 100 needs one
pass to build float32 features (40 MB), a PCA projection and a short k-means over 100,000 × 10.
Same ``seed`` → same labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import gaussian_kde
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from threadpoolctl import threadpool_limits

from analysis.core._util import Seed, as_rng, rating_pair

#: Automatic k needs at least this many outcomes; a researcher's k is always honoured.
MIN_OUTCOMES_AUTO = 6
MIN_SEGMENT_FOR_VALLEY = 5  # members a segment needs for a density between it and another
VALLEY_GRID = 60  # points between two segments' medians where the density is read

__all__ = ["KDiagnostics", "Segmentation", "segment", "unmet_features"]


@dataclass(frozen=True)
class KDiagnostics:
    """How one candidate k fared on the subsample."""

    k: int
    silhouette: float
    null_silhouette: float
    distinctness: float
    stability: float
    stability_sd: float
    stable: bool
    distinct: bool
    valley: float = 0.0  # the largest valley between two segments (see the module docstring)
    separated: bool = True


@dataclass(frozen=True)
class Segmentation:
    """Segments of respondents.

    ``labels``: ``(n_respondents,)`` int64 in 0…k−1 (0 = largest segment; all 0 when
    ``found`` is False). ``sizes``: ``(k,)``. ``profiles``: ``(k, n_outcomes)`` mean ipsatised
    gap per segment and outcome (positive = more unmet than the respondent's average outcome).
    """

    found: bool
    k: int
    labels: NDArray[np.int64]
    reason: str
    diagnostics: tuple[KDiagnostics, ...]
    sizes: NDArray[np.int64]
    profiles: NDArray[np.float64]
    requested_k: int | None
    n_subsample: int
    n_components: int


def unmet_features(
    importance: ArrayLike, satisfaction: ArrayLike, *, min_answers: int = 3
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """Ipsatised importance − satisfaction gaps (see step 1 of the module docstring).

    Returns ``(features, usable)``: features ``(n, m)`` float32, usable ``(n,)`` True for
    respondents with at least ``min_answers`` answered pairs.
    """
    imp, sat = rating_pair(importance, satisfaction)
    both = (imp > 0) & (sat > 0)
    gap = imp.astype(np.float32)
    gap -= sat
    gap[~both] = 0.0
    count = both.sum(axis=1)
    safe = np.maximum(count, 1).astype(np.float32)
    mean = gap.sum(axis=1) / safe
    gap -= mean[:, None]
    gap[~both] = 0.0
    sd = np.sqrt(np.einsum("ij,ij->i", gap, gap) / safe)
    gap /= np.maximum(sd, 0.5)[:, None]
    usable = count >= min_answers
    # A pair left blank takes the outcome's average standardised gap among those who answered
    # it, not 0: when respondents rate a planned subset, 0 would set everyone who was not shown
    # an outcome apart from those who were, and k-means would find the designs' blank patterns.
    answered = both & usable[:, None]
    column_mean = gap.sum(axis=0, where=answered) / np.maximum(answered.sum(axis=0), 1)
    np.copyto(gap, column_mean.astype(np.float32)[None, :], where=~both)
    gap[~usable] = 0.0
    return gap, usable


def _relabel_by_size(labels: NDArray[np.integer], k: int) -> NDArray[np.int64]:
    sizes = np.bincount(labels, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    new = np.empty(k, dtype=np.int64)
    new[order] = np.arange(k)
    relabelled: NDArray[np.int64] = new[labels]
    return relabelled


def _seed_int(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**31 - 1))


def _diagnose(
    z: NDArray[np.float64],
    k: int,
    sd: NDArray[np.float64],
    rng: np.random.Generator,
    *,
    n_init: int,
    n_stability: int,
    n_null: int,
    min_stability: float,
    min_distinctness: float,
    silhouette_size: int,
    max_valley: float,
) -> tuple[KDiagnostics, KMeans]:
    n = z.shape[0]
    ref = KMeans(k, n_init=n_init, random_state=_seed_int(rng)).fit(z)
    ss = min(silhouette_size, n)
    sil = float(silhouette_score(z, ref.labels_, sample_size=ss, random_state=_seed_int(rng)))

    null_sils = []
    for _ in range(n_null):
        null = rng.standard_normal(z.shape) * sd[None, :]
        km = KMeans(k, n_init=max(1, n_init // 2), random_state=_seed_int(rng)).fit(null)
        null_sils.append(
            silhouette_score(null, km.labels_, sample_size=ss, random_state=_seed_int(rng))
        )
    null_sil = float(np.mean(null_sils))

    aris = []
    for _ in range(n_stability):
        idx = rng.integers(0, n, size=n)
        km = KMeans(k, n_init=max(1, n_init // 2), random_state=_seed_int(rng)).fit(z[idx])
        seen = np.unique(idx)
        aris.append(adjusted_rand_score(ref.labels_[seen], km.predict(z[seen])))
    stability = float(np.mean(aris)) if aris else float("nan")
    valley = _valley(z, ref.labels_, k)
    diag = KDiagnostics(
        k=k,
        silhouette=sil,
        null_silhouette=null_sil,
        distinctness=sil - null_sil,
        stability=stability,
        stability_sd=float(np.std(aris)) if aris else float("nan"),
        stable=bool(stability >= min_stability),
        distinct=bool(sil - null_sil >= min_distinctness),
        valley=valley,
        separated=bool(valley <= max_valley),
    )
    return diag, ref


def _valley(z: NDArray[np.float64], labels: NDArray[np.integer], k: int) -> float:
    """The largest valley ratio over pairs of segments (see *separation* in the module doc):
    near 0 for segments with a gap between them, near 1 for a cut through one mode."""
    worst = 0.0
    centres = np.stack([z[labels == c].mean(axis=0) for c in range(k)])
    for a in range(k):
        for b in range(a + 1, k):
            axis = centres[b] - centres[a]
            length = float(np.linalg.norm(axis))
            pa, pb = z[labels == a] @ axis, z[labels == b] @ axis
            if length == 0.0 or min(pa.size, pb.size) < MIN_SEGMENT_FOR_VALLEY:
                return 1.0  # no segment to speak of
            low, high = float(np.median(pa)), float(np.median(pb))
            try:
                density = gaussian_kde(np.concatenate([pa, pb]))
            except np.linalg.LinAlgError:  # every projection the same: nothing in between
                continue
            between = density(np.linspace(low, high, VALLEY_GRID)).min()
            peak = min(float(density([low])[0]), float(density([high])[0]))
            worst = max(worst, float(between / peak) if peak > 0 else 1.0)
    return worst


def _describe(d: KDiagnostics) -> str:
    return (
        f"k={d.k}: stability {d.stability:.2f}, silhouette {d.silhouette:.3f} vs "
        f"{d.null_silhouette:.3f} on one-mode reference data (distinctness {d.distinctness:+.3f}),"
        f" valley between segments {d.valley:.2f}"
    )


def _none(
    n: int,
    m: int,
    reason: str,
    *,
    requested_k: int | None = None,
    diagnostics: tuple[KDiagnostics, ...] = (),
    profiles: NDArray[np.float64] | None = None,
    n_subsample: int = 0,
    n_components: int = 0,
) -> Segmentation:
    return Segmentation(
        found=False,
        k=1,
        labels=np.zeros(n, dtype=np.int64),
        reason=reason,
        diagnostics=diagnostics,
        sizes=np.array([n], dtype=np.int64),
        profiles=np.zeros((1, m)) if profiles is None else profiles,
        requested_k=requested_k,
        n_subsample=n_subsample,
        n_components=n_components,
    )


def segment(
    importance: ArrayLike,
    satisfaction: ArrayLike,
    *,
    seed: Seed,
    k: int | None = None,
    k_range: tuple[int, int] = (2, 8),
    subsample: int = 3000,
    n_components: int | None = None,
    n_init: int = 4,
    n_stability: int = 10,
    n_null: int = 2,
    min_stability: float = 0.75,
    min_distinctness: float = 0.05,
    min_answers: int = 3,
    silhouette_size: int = 2000,
    max_valley: float = 0.8,
) -> Segmentation:
    """Segment respondents by unmet outcomes; ``k=None`` picks k automatically (see module doc).

    ``importance``, ``satisfaction``: ``(n_respondents, n_outcomes)`` uint8, 0 = unanswered.
    ``k_range``: inclusive (k_min, k_max) for the automatic choice. Returns :class:`Segmentation`.
    """
    rng = as_rng(seed)
    features, usable = unmet_features(importance, satisfaction, min_answers=min_answers)
    n, m = features.shape
    k_lo, k_hi = (k, k) if k is not None else k_range
    if k is not None and k <= 1:
        return _none(n, m, "One segment was requested.", requested_k=k)
    if k_lo < 2 or k_hi < k_lo:
        raise ValueError(f"invalid k range {k_range}")
    if k is None and m < MIN_OUTCOMES_AUTO:
        # With so few outcomes the per-respondent gap profiles fall on a coarse lattice that
        # k-means splits "stably" even in pure noise: no automatic segments there.
        return _none(
            n,
            m,
            f"Too few outcomes ({m}) to look for segments automatically; at least "
            f"{MIN_OUTCOMES_AUTO} are needed (or ask for a number of segments).",
        )

    pool = np.flatnonzero(usable)
    if pool.size < max(50, 10 * k_hi) or m < 2:
        return _none(
            n,
            m,
            f"Too few respondents with enough answers ({pool.size}) to look for segments.",
            requested_k=k,
        )
    sub = np.sort(rng.choice(pool, size=min(subsample, pool.size), replace=False))
    d = n_components or max(10, k_hi + 2)
    d = int(min(d, m - 1, sub.size - 1))
    pca = PCA(n_components=d, svd_solver="full").fit(features[sub])
    z = pca.transform(features[sub])
    sd = np.sqrt(pca.explained_variance_)

    diags: list[KDiagnostics] = []
    refs: dict[int, KMeans] = {}
    for kk in range(k_lo, k_hi + 1):
        # The subsample fits are small: one thread is faster than two and immune to contention
        # with other processes (OpenMP workers spin-wait for each other).
        with threadpool_limits(limits=1):
            diag, ref = _diagnose(
                z,
                kk,
                sd,
                rng,
                n_init=n_init,
                n_stability=n_stability,
                n_null=n_null,
                min_stability=min_stability,
                min_distinctness=min_distinctness,
                silhouette_size=silhouette_size,
                max_valley=max_valley,
            )
        diags.append(diag)
        refs[kk] = ref

    if k is not None:
        chosen = diags[0]
        checks = (
            ("stable", chosen.stable),
            ("distinct", chosen.distinct),
            ("separated", chosen.separated),
        )
        failed = [word for word, ok in checks if not ok]
        verdict = "stable, distinct and separated" if not failed else "NOT " + " and ".join(failed)
        reason = f"k={k} was requested; it is {verdict}. " + _describe(chosen)
    else:
        ok = [dg for dg in diags if dg.stable and dg.distinct and dg.separated]
        if not ok:
            best = max(diags, key=lambda dg: dg.distinctness)
            most_stable = max(diags, key=lambda dg: dg.stability)
            reason = (
                f"No segments: no k in {k_lo}–{k_hi} is stable (mean ARI ≥ "
                f"{min_stability}), distinct (silhouette ≥ one-mode reference + "
                f"{min_distinctness}) and separated (a dip in density between every two "
                f"segments, valley ≤ {max_valley}). Most distinct {_describe(best)}; most stable "
                f"{_describe(most_stable)}."
            )
            return _none(
                n,
                m,
                reason,
                diagnostics=tuple(diags),
                profiles=features.mean(axis=0, dtype=np.float64)[None, :],
                n_subsample=int(sub.size),
                n_components=d,
            )
        chosen = max(ok, key=lambda dg: dg.distinctness)
        reason = (
            f"Chose k={chosen.k}: the most distinct of the stable and distinct solutions "
            f"({', '.join(str(dg.k) for dg in ok)}). " + _describe(chosen)
        )

    kk = chosen.k
    z_all = pca.transform(features).astype(np.float64)
    final = KMeans(
        kk, init=refs[kk].cluster_centers_, n_init=1, max_iter=20, random_state=_seed_int(rng)
    ).fit(z_all)
    labels = _relabel_by_size(final.labels_, kk)
    sizes = np.bincount(labels, minlength=kk).astype(np.int64)
    profiles = np.stack([features[labels == c].mean(axis=0, dtype=np.float64) for c in range(kk)])
    return Segmentation(
        found=True,
        k=kk,
        labels=labels,
        reason=reason,
        diagnostics=tuple(diags),
        sizes=sizes,
        profiles=profiles,
        requested_k=k,
        n_subsample=int(sub.size),
        n_components=d,
    )
