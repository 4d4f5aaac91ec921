"""Benchmark of the numeric core on 100,000 respondents × 100 outcomes.

Run: ``python bench/bench_core.py [--respondents N] [--outcomes M] [--repeat R]``

Times (median of ``--repeat`` runs) the whole-sample and per-segment scores, the joint bootstrap
(intervals + rank stability), and segmentation with automatic k, prints peak memory, and — as
the baseline measured in the same run — the same whole-sample and per-segment top-two-box scores
computed with pandas from a CSV of the same data (needs pandas; the core does not).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.core.bootstrap import bootstrap_scores
from analysis.core.scoring import score
from analysis.core.segments import segment
from analysis.core.synthetic import generate


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time over ``repeat`` runs and the last result."""
    times = []
    result = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def traced_peak(fn: Callable[[], Any]) -> float:
    """Peak Python + numpy heap allocation (MB) while ``fn`` runs, above what was live before."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


ISOLATED = """
import sys
import numpy as np
sys.path.insert(0, {root!r})
from analysis.core.segments import segment
both = np.load({path!r})
segment(both[:, :{m}], both[:, {m}:], seed=1)
# VmHWM, not ru_maxrss: ru_maxrss keeps the parent's high-water mark across fork + exec.
hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0]
print(int(hwm.split()[1]) / 1024)
"""


def isolated_segmentation_rss(packed: Path, m: int) -> float:
    """Peak RSS (MB) of a fresh interpreter that loads the matrix and segments it."""
    root = str(Path(__file__).resolve().parents[1])
    code = ISOLATED.format(root=root, path=str(packed), m=m)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def write_csv(path: Path, imp: np.ndarray, sat: np.ndarray) -> list[str]:
    import pandas as pd

    m = imp.shape[1]
    codes = [f"O{j + 1:03d}" for j in range(m)]
    frame = pd.DataFrame({"respondent_id": np.arange(1, imp.shape[0] + 1)})
    cols = {}
    for j, code in enumerate(codes):
        cols[f"imp_{code}"] = pd.array(np.where(imp[:, j] > 0, imp[:, j], 0), dtype="Int8")
        cols[f"sat_{code}"] = pd.array(np.where(sat[:, j] > 0, sat[:, j], 0), dtype="Int8")
    frame = pd.concat([frame, pd.DataFrame(cols)], axis=1)
    frame = frame.mask(frame == 0)  # unanswered → blank
    frame.to_csv(path, index=False)
    return codes


def pandas_scores(frame: Any, codes: list[str], segment_col: str | None = None) -> Any:
    """Top-two-box I, S and O per outcome (and per segment when ``segment_col`` is given)."""
    import pandas as pd

    imp = frame[[f"imp_{c}" for c in codes]]
    sat = frame[[f"sat_{c}" for c in codes]]
    # top-two-box indicator with NaN for unanswered, so mean() is the share of valid answers
    imp_t2b = (imp >= 4).astype("float64").where(imp.notna())
    sat_t2b = (sat >= 4).astype("float64").where(sat.notna())
    if segment_col is None:
        i = imp_t2b.mean() * 10
        s = sat_t2b.mean() * 10
    else:
        i = imp_t2b.groupby(frame[segment_col]).mean() * 10
        s = sat_t2b.groupby(frame[segment_col]).mean() * 10
    i_v, s_v = np.asarray(i, dtype=float), np.asarray(s, dtype=float)
    o = i_v + np.maximum(i_v - s_v, 0)
    return pd.DataFrame(o)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument("--segments", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    n, m, r = args.respondents, args.outcomes, args.repeat

    print(f"data: {n:,} respondents × {m} outcomes, {args.segments} planted segments")
    t0 = time.perf_counter()
    imp, sat, truth = generate(n, m, args.segments, seed=args.seed)
    print(f"generate                               {time.perf_counter() - t0:7.3f} s")
    print(f"peak RSS after generating              {rss_mb():7.0f} MB")

    with tempfile.TemporaryDirectory() as tmp:
        packed = Path(tmp) / "ratings.npy"
        np.save(packed, np.concatenate([imp, sat], axis=1))
        t_load, both = timed(lambda: np.load(packed), r)
        imp_l, sat_l = both[:, :m], both[:, m:]

        t_score, scores = timed(lambda: score(imp_l, sat_l), r)
        masks = [truth == s for s in np.unique(truth)]
        t_seg_scores, _ = timed(lambda: [score(imp_l, sat_l, mk) for mk in masks], r)
        t_boot, boot = timed(lambda: bootstrap_scores(imp_l, sat_l, n_resamples=1000, seed=1), r)
        total = t_load + t_score + t_seg_scores + t_boot
        print(f"load packed uint8 matrix (.npy)        {t_load:7.3f} s")
        print(f"whole-sample scores                    {t_score:7.3f} s")
        print(f"per-segment scores ({len(masks)} segments)         {t_seg_scores:7.3f} s")
        print(f"bootstrap: 1,000 joint resamples, intervals + top-10 stability {t_boot:7.3f} s")
        print(f"  total load + scores + bootstrap      {total:7.3f} s  (budget 3 s)")
        top = scores.ranking()[:10]
        print(f"  top-10 P(in top 10): {np.round(boot.p_top_k[top], 3).tolist()}")

        t_segm, seg = timed(lambda: segment(imp_l, sat_l, seed=1), r)
        from sklearn.metrics import adjusted_rand_score

        print(
            f"segmentation, automatic k (2–8)        {t_segm:7.3f} s  → k={seg.k} "
            f"found={seg.found} ARI vs planted {adjusted_rand_score(truth, seg.labels):.3f}"
        )
        imp0, sat0, _ = generate(n, m, 0, seed=args.seed + 1)
        t_null, seg0 = timed(lambda: segment(imp0, sat0, seed=1), 1)
        print(f"segmentation on no-segment data        {t_null:7.3f} s  → found={seg0.found}")

        seg_rss = isolated_segmentation_rss(packed, m)
        print(f"segmentation alone in a fresh process: peak RSS {seg_rss:7.0f} MB (budget 1 GB)")
        seg_peak = traced_peak(lambda: segment(imp_l, sat_l, seed=1))
        boot_peak = traced_peak(lambda: bootstrap_scores(imp_l, sat_l, n_resamples=1000, seed=1))
        print(f"peak traced allocation, segmentation   {seg_peak:7.0f} MB")
        print(f"peak traced allocation, bootstrap      {boot_peak:7.0f} MB")
        print(f"peak RSS of the whole process          {rss_mb():7.0f} MB")

        try:
            import pandas as pd
        except ImportError:
            print("pandas not installed: baseline skipped (pip install pandas)")
            return
        csv = Path(tmp) / "responses.csv"
        codes = write_csv(csv, imp, sat)
        print(f"CSV for the baseline: {csv.stat().st_size / 2**20:.0f} MB")

        t_read, frame = timed(lambda: pd.read_csv(csv), r)
        t_pd_score, pd_o = timed(lambda: pandas_scores(frame, codes), r)
        frame["segment"] = truth
        t_pd_seg, _ = timed(lambda: pandas_scores(frame, codes, "segment"), r)
        assert np.allclose(np.asarray(pd_o).ravel(), scores.opportunity), "baseline disagrees"
        print(f"pandas read_csv                        {t_read:7.3f} s")
        print(f"pandas whole-sample scores             {t_pd_score:7.3f} s")
        print(f"pandas per-segment scores (groupby)    {t_pd_seg:7.3f} s")
        base_total = t_read + t_pd_score + t_pd_seg
        core_total = t_load + t_score + t_seg_scores
        score_ratio = (t_pd_score + t_pd_seg) / (t_score + t_seg_scores)
        print(f"ratio pandas/core, scores only         {score_ratio:7.1f}×")
        print(f"ratio pandas/core, load + scores       {base_total / core_total:7.1f}×")


if __name__ == "__main__":
    main()
