"""Simulation: what rating a planned subset of the outcomes costs the estimates.

Run: ``python bench/bench_planned_missing.py [--outcomes 150] [--k 50] [--respondents 1000]
[--replications 20] [--segmented 3] [--segments 3] [--shares 0.6,0.3,0.1] [--style-sd 1.0]
[--continuous] [--seed 7]``

A population of 300,000 respondents is drawn from the planted-segment generator
(`analysis.core.synthetic`, 150 outcomes, --segments need-based segments with rating styles, or
rating styles alone with --segments 0); its scores are the truth. Each replication draws
--respondents people and scores them three ways, each with today's engine (per-outcome
top-two-box shares on each outcome's own answers, 1,000-resample respondent bootstrap,
segmentation with automatic k):

- full: everyone rates all outcomes (the baseline);
- K of N: everyone rates --k outcomes chosen by a counter-driven allocation (each respondent gets
  the k least-shown outcomes so far, ties broken at random, so counts stay within one of each
  other and every pair of outcomes is rated together about n·k(k−1)/(N(N−1)) times);
- K of N, 3× people: the same with three times the respondents (the same number of ratings as
  the full design).

Printed side by side: Spearman rank correlation of the estimated opportunity with the true one
(median over replications), coverage of the true opportunity by the 95% intervals (share over
all outcomes and replications; target 93–97%), median interval width, ratings per respondent,
and segmentation agreement with the planted segments (adjusted Rand index and the number of
segments found, on the first --segmented replications: segmentation is the slow part).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import adjusted_rand_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.core.bootstrap import bootstrap_scores
from analysis.core.designs import counter_allocation
from analysis.core.scoring import score
from analysis.core.segments import segment
from analysis.core.synthetic import generate

POPULATION = 300_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outcomes", type=int, default=150)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--respondents", type=int, default=1000)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--segmented", type=int, default=3, help="replications segmented")
    parser.add_argument(
        "--segments", type=int, default=3, help="planted segments (0: rating styles only)"
    )
    parser.add_argument("--shares", default="", help="segment shares, e.g. 0.6,0.3,0.1")
    parser.add_argument("--style-sd", type=float, default=0.6, help="rating-style spread")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--continuous", action="store_true", help="one need varying by degree (with --segments 0)"
    )
    return parser.parse_args()


def smallest_segment(truth: np.ndarray, found: np.ndarray) -> tuple[float, float]:
    """The smallest planted segment: the size of the found segment that best matches it,
    relative to its true size, and the F1 of that match."""
    small = int(np.argmin(np.bincount(truth)))
    members = truth == small
    best = (0.0, 0.0)
    for label in np.unique(found):
        chosen = found == label
        hits = float(np.sum(members & chosen))
        f1 = 2 * hits / (members.sum() + chosen.sum())
        best = max(best, (f1, chosen.sum() / members.sum()))
    return best[1], best[0]


def blank_unshown(
    imp: np.ndarray, sat: np.ndarray, shown: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    return np.where(shown, imp, 0).astype(np.uint8), np.where(shown, sat, 0).astype(np.uint8)


def main() -> None:
    args = parse_args()
    m, k = args.outcomes, args.k
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    shares = tuple(float(x) for x in args.shares.split(",")) if args.shares else None
    pop_imp, pop_sat, pop_labels = generate(
        POPULATION,
        m,
        args.segments,
        rng,
        missing_rate=0.0,
        shares=shares,
        style_sd=args.style_sd,
        continuous_need=args.continuous,
    )
    truth = score(pop_imp, pop_sat).opportunity
    print(
        f"population {POPULATION:,} × {m} outcomes, {args.segments} planted segments "
        f"(shares {np.round(np.bincount(pop_labels) / POPULATION, 3)}); truth: its scores"
    )

    designs = {
        "full": (args.respondents, None),
        f"K={k} of {m}": (args.respondents, k),
        f"K={k} of {m}, 3× people": (3 * args.respondents, k),
    }
    stats: dict[str, dict[str, list[float]]] = {
        name: {
            "rho": [],
            "covered": [],
            "width": [],
            "ratings": [],
            "ari": [],
            "k": [],
            "n": [],
            "small": [],
            "f1": [],
        }
        for name in designs
    }
    for r in range(args.replications):
        for name, (n, subset) in designs.items():
            rows = rng.choice(POPULATION, size=n, replace=False)
            imp, sat, labels = pop_imp[rows], pop_sat[rows], pop_labels[rows]
            if subset is not None:
                imp, sat = blank_unshown(
                    imp, sat, counter_allocation(n, m, subset, int(rng.integers(2**31)))
                )
            boot = bootstrap_scores(imp, sat, n_resamples=1000, seed=rng)
            o = boot.scores.opportunity
            lo, hi = boot.intervals.opportunity_lower, boot.intervals.opportunity_upper
            s = stats[name]
            s["rho"].append(float(spearmanr(o, truth).statistic))
            s["covered"] += ((lo <= truth) & (truth <= hi)).astype(float).tolist()
            s["width"].append(float(np.median(hi - lo)))
            s["ratings"].append(float(((imp > 0).sum() + (sat > 0).sum()) / n))
            s["n"].append(float(np.median(boot.scores.n)))
            if r < args.segmented:
                seg = segment(imp, sat, seed=rng)
                s["ari"].append(float(adjusted_rand_score(labels, seg.labels)))
                s["k"].append(float(seg.k if seg.found else 1))
                size, f1 = smallest_segment(labels, seg.labels)
                s["small"].append(size)
                s["f1"].append(f1)
        print(f"  replication {r + 1} of {args.replications} done", flush=True)

    print(
        f"\n{args.replications} replications of {args.respondents:,} respondents; "
        f"{time.perf_counter() - started:.0f} s\n"
    )
    header = (
        f"{'design':28} {'Spearman ρ':>10} {'coverage':>9} {'CI width':>9} "
        f"{'n/outcome':>9} {'ratings/resp':>12} {'ARI':>6} {'k found':>8} "
        f"{'smallest ×':>10} {'F1':>5}"
    )
    print(header)
    for name, s in stats.items():
        ari = statistics.median(s["ari"]) if s["ari"] else float("nan")
        found = "/".join(str(int(x)) for x in s["k"]) or "—"
        print(
            f"{name:28} {statistics.median(s['rho']):10.3f} {statistics.mean(s['covered']):9.3f} "
            f"{statistics.median(s['width']):9.2f} {statistics.median(s['n']):9.0f} "
            f"{statistics.median(s['ratings']):12.0f} {ari:6.2f} {found:>8} "
            f"{statistics.median(s['small']) if s['small'] else float('nan'):10.2f} "
            f"{statistics.median(s['f1']) if s['f1'] else float('nan'):5.2f}"
        )
    truth_k = max(args.segments, 1)
    print(
        "\ncoverage target 93–97% (95% intervals); k found per segmented replication "
        f"(truth: {truth_k}; 1 = no segments found); smallest ×: the size found for the smallest "
        "planted segment over its true size (target 0.67–1.5), F1 of its members (target ≥ 0.75)"
    )


if __name__ == "__main__":
    main()
