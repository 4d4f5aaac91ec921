"""Segment sizes: today's k-means engine against a Gaussian mixture chosen by BIC, same data.

Run: ``python bench/bench_segment_methods.py [--respondents 2000] [--outcomes 150] [--k 50]
[--seeds 8] [--first-seed 1]``

For each seed, data are drawn from the planted-segment generator (`analysis.core.synthetic`,
no random blanks, strong rating styles: ``style_sd=1.0`` as ``bench_planned_missing.py
--style-sd 1.0``) in six scenarios:

- 60/30/10: three need-based segments with shares 0.6, 0.3, 0.1, everyone rates every outcome;
- 60/30/10, K of N: the same respondents, each shown --k outcomes by the counter-driven
  allocation (`analysis.core.designs.counter_allocation`); unshown ratings are set to 0;
- no segments: rating styles only (``n_segments=0``, the same per-outcome unmet shares as a
  60/30/10 draw, no clusters), complete;
- no segments, K of N: the same with the planned subset;
- one need by degree: no segments, one set of outcomes unmet to a degree that varies
  uniformly over respondents (``continuous_need``), complete and with the planned subset.

Each data set is segmented by every method in the same run:

- k-means: `analysis.core.segments.segment` with automatic k (stability, distinctness against
  a one-mode reference and a density valley between segments, k in 2…8; k = 1 when no k has
  all three);
- GMM diag / GMM full: `sklearn.mixture.GaussianMixture` on the engine's own features
  (`unmet_features`, then PCA to 10 components as the engine does), k in 1…8 chosen by the
  lowest BIC, 3 k-means-initialised starts per k, one BLAS thread (as the engine's k search),
  labels from ``predict``. k = 1 is a candidate, so "no segments" can win on BIC.

Printed per scenario and method: k found per seed (truth in the scenario name), median and
lowest adjusted Rand index against the planted labels, the size of the found segment that best
matches each planted segment (highest F1) over the planted segment's true size (median over
seeds; for the smallest also its range), the F1 of the smallest segment (median, lowest), how
many seeds meet the size targets (smallest within ×0.67–1.5 with F1 ≥ 0.75 and the right k;
for no-segment data: k = 1), and median wall time per fit. Times depend on the machine and its
load; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.core.designs import counter_allocation
from analysis.core.segments import segment, unmet_features
from analysis.core.synthetic import generate

SHARES = (0.6, 0.3, 0.1)
STYLE_SD = 1.0
N_COMPONENTS = 10
K_MAX = 8

Labels = NDArray[np.int64]
Method = Callable[[NDArray[np.uint8], NDArray[np.uint8], int], Labels]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=2000)
    parser.add_argument("--outcomes", type=int, default=150)
    parser.add_argument("--k", type=int, default=50, help="outcomes shown in the K-of-N design")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--first-seed", type=int, default=1)
    return parser.parse_args()


def kmeans_engine(imp: NDArray[np.uint8], sat: NDArray[np.uint8], seed: int) -> Labels:
    seg = segment(imp, sat, seed=seed)
    return seg.labels


def gmm_by_bic(covariance: str) -> Method:
    """A Gaussian mixture on the engine's PCA features, k in 1…K_MAX by the lowest BIC."""

    def fit(imp: NDArray[np.uint8], sat: NDArray[np.uint8], seed: int) -> Labels:
        features, usable = unmet_features(imp, sat)
        d = min(N_COMPONENTS, features.shape[1] - 1)
        pca = PCA(n_components=d, svd_solver="full").fit(features[usable])
        z = pca.transform(features).astype(np.float64)
        best: tuple[float, GaussianMixture] | None = None
        with threadpool_limits(limits=1):
            for k in range(1, K_MAX + 1):
                gm = GaussianMixture(k, covariance_type=covariance, n_init=3, random_state=seed)
                gm.fit(z[usable])
                bic = float(gm.bic(z[usable]))
                if best is None or bic < best[0]:
                    best = (bic, gm)
        assert best is not None
        labels: Labels = best[1].predict(z).astype(np.int64)
        return labels

    return fit


METHODS: dict[str, Method] = {
    "k-means (engine)": kmeans_engine,
    "GMM diag, BIC": gmm_by_bic("diag"),
    "GMM full, BIC": gmm_by_bic("full"),
}


def matched(truth: Labels, found: Labels) -> list[tuple[float, float]]:
    """For each planted segment: (size of the best-F1 found segment / true size, that F1)."""
    out = []
    for s in range(int(truth.max()) + 1):
        members = truth == s
        best = (0.0, 0.0)
        for label in np.unique(found):
            chosen = found == label
            f1 = 2 * float(np.sum(members & chosen)) / (members.sum() + chosen.sum())
            best = max(best, (f1, chosen.sum() / members.sum()))
        out.append((best[1], best[0]))
    return out


def scenarios(
    n: int, m: int, k_shown: int, seed: int
) -> dict[str, tuple[NDArray[np.uint8], NDArray[np.uint8], Labels]]:
    def kn(imp: NDArray[np.uint8], sat: NDArray[np.uint8]) -> tuple[NDArray[np.uint8], ...]:
        shown = counter_allocation(n, m, k_shown, seed)
        return np.where(shown, imp, 0).astype(np.uint8), np.where(shown, sat, 0).astype(np.uint8)

    kw = {"missing_rate": 0.0, "shares": SHARES, "style_sd": STYLE_SD}
    imp, sat, labels = generate(n, m, 3, seed, **kw)
    flat_imp, flat_sat, flat_labels = generate(n, m, 0, seed, **kw)
    one_imp, one_sat, one_labels = generate(
        n, m, 0, seed, missing_rate=0.0, style_sd=STYLE_SD, continuous_need=True
    )
    return {
        "60/30/10, complete (k=3)": (imp, sat, labels),
        f"60/30/10, K={k_shown} of {m} (k=3)": (*kn(imp, sat), labels),
        "no segments, complete (k=1)": (flat_imp, flat_sat, flat_labels),
        f"no segments, K={k_shown} of {m} (k=1)": (*kn(flat_imp, flat_sat), flat_labels),
        "one need by degree, complete (k=1)": (one_imp, one_sat, one_labels),
        f"one need by degree, K={k_shown} of {m} (k=1)": (*kn(one_imp, one_sat), one_labels),
    }


def main() -> None:
    args = parse_args()
    n, m = args.respondents, args.outcomes
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    started = time.perf_counter()
    # results[scenario][method] = list of (k, ari, matched sizes, seconds), one per seed
    results: dict[str, dict[str, list[tuple[int, float, list[tuple[float, float]], float]]]] = {}
    for seed in seeds:
        for name, (imp, sat, truth) in scenarios(n, m, args.k, seed).items():
            for method, fit in METHODS.items():
                t0 = time.perf_counter()
                found = fit(imp, sat, seed)
                seconds = time.perf_counter() - t0
                row = (
                    len(np.unique(found)),
                    float(adjusted_rand_score(truth, found)),
                    matched(truth, found),
                    seconds,
                )
                results.setdefault(name, {}).setdefault(method, []).append(row)
        print(f"  seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)

    print(
        f"\n{len(seeds)} seeds ({seeds.start}–{seeds.stop - 1}) × {n:,} respondents × {m} "
        f"outcomes, style_sd {STYLE_SD}; {time.perf_counter() - started:.0f} s in all\n"
    )
    header = (
        f"{'method':18} {'k found per seed':>18} {'ARI med':>7} {'min':>5} "
        f"{'size × per segment':>19} {'smallest × range':>16} {'F1 small':>8} {'min':>5} "
        f"{'on target':>9} {'s/fit':>6}"
    )
    for name, by_method in results.items():
        print(name)
        print(header)
        for method, rows in by_method.items():
            ks = [r[0] for r in rows]
            aris = [r[1] for r in rows]
            n_planted = len(rows[0][2])
            sizes = [statistics.median(r[2][s][0] for r in rows) for s in range(n_planted)]
            small = [r[2][-1][0] for r in rows]
            f1s = [r[2][-1][1] for r in rows]
            if n_planted > 1:
                hits = sum(
                    k == n_planted and 0.67 <= x <= 1.5 and f >= 0.75
                    for k, x, f in zip(ks, small, f1s, strict=True)
                )
                size_col = "/".join(f"{x:.2f}" for x in sizes)
                range_col = f"{min(small):.2f}–{max(small):.2f}"
                f1_col = f"{statistics.median(f1s):8.2f} {min(f1s):5.2f}"
            else:
                hits = sum(k == 1 for k in ks)
                size_col = range_col = "—"
                f1_col = f"{'—':>8} {'—':>5}"
            print(
                f"{method:18} {' '.join(map(str, ks)):>18} {statistics.median(aris):7.2f} "
                f"{min(aris):5.2f} {size_col:>19} {range_col:>16} {f1_col} "
                f"{f'{hits}/{len(rows)}':>9} {statistics.median(r[3] for r in rows):6.2f}"
            )
        print()
    print(
        "size ×: size of the found segment best matching each planted segment (largest first) "
        "over its true size, median over seeds (target 0.67–1.5); F1 small: F1 of the smallest "
        "planted segment's members (target ≥ 0.75); on target: seeds with the right k and, "
        "with segments, the smallest within ×0.67–1.5 at F1 ≥ 0.75; ARI with no planted "
        "segments is 1 for k=1 and 0 otherwise"
    )


if __name__ == "__main__":
    main()
