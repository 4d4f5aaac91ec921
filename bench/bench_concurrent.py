"""Two analyses at once against one alone, with and without the BLAS thread limit.

Run: ``python bench/bench_concurrent.py [--respondents N] [--outcomes M] [--rounds R]``

Each analysis is the whole-sample bootstrap of an N × M matrix (100,000 × 100 by default, the
core of every analysis run) in a process of its own, as in a Celery worker with two pool
processes. Four set-ups, each timed in ``--rounds`` rounds, alternating, in the same run:

- one alone and two at once with the libraries' default threads (one per core per process);
- one alone and two at once with the limit of analysis/threads.py for two processes sharing
  the cores (cores ÷ 2 threads each), as config/celery.py applies it to a worker's pool;
- two at once in two threads of one process, default threads (an in-process run of a
  threaded web server), for the record.

Prints the median seconds per analysis of each set-up and the ratios of two at once to one
alone: the baseline is the same run's one-alone figure.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.core.bootstrap import bootstrap_scores  # noqa: E402
from analysis.core.synthetic import generate  # noqa: E402
from analysis.threads import available_cores, limit_blas_threads  # noqa: E402


def analyse(data: np.ndarray, m: int, seed: int) -> float:
    t0 = time.perf_counter()
    bootstrap_scores(data[:, :m], data[:, m:], seed=seed)
    return time.perf_counter() - t0


def worker(path: str, m: int, limited: bool, start, done) -> None:
    """One analysing process: load, apply the thread rule or not, then analyse on each start."""
    if limited:
        limit_blas_threads(sharers=2)
    data = np.load(path)
    analyse(data[:2000], m, 0)  # warm up the libraries
    while (seed := start.get()) is not None:
        done.put(analyse(data, m, seed))


class Setup:
    """`processes` analysing processes, each analysis started together with the others."""

    def __init__(self, path: str, m: int, processes: int, limited: bool) -> None:
        ctx = mp.get_context("spawn")
        self.starts = [ctx.Queue() for _ in range(processes)]
        self.done = ctx.Queue()
        self.procs = [
            ctx.Process(target=worker, args=(path, m, limited, start, self.done))
            for start in self.starts
        ]
        for proc in self.procs:
            proc.start()

    def round(self, seed: int) -> list[float]:
        for i, start in enumerate(self.starts):
            start.put(seed + i)
        return [self.done.get() for _ in self.starts]

    def close(self) -> None:
        for start in self.starts:
            start.put(None)
        for proc in self.procs:
            proc.join()


def in_threads(path: str, m: int, rounds: int) -> list[float]:
    """Two analyses at once in two threads of this process, default threads."""
    data = np.load(path)
    times: list[float] = []
    for r in range(rounds):
        out: list[float] = []

        def one(seed: int, out: list[float] = out) -> None:
            out.append(analyse(data, m, seed))

        threads = [threading.Thread(target=one, args=(s,)) for s in (r, r + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        times += out
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n, m = args.respondents, args.outcomes

    imp, sat, _ = generate(n, m, 3, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "matrix.npy")
        np.save(path, np.hstack([imp, sat]))
        setups = {
            (processes, limited): Setup(path, m, processes, limited)
            for processes in (1, 2)
            for limited in (False, True)
        }
        times: dict[tuple[int, bool], list[float]] = {key: [] for key in setups}
        try:
            for r in range(args.rounds):
                for key, setup in setups.items():
                    times[key] += setup.round(seed=100 * r)
        finally:
            for setup in setups.values():
                setup.close()
        threaded = in_threads(path, m, args.rounds)

    med = {key: statistics.median(values) for key, values in times.items()}
    cores = available_cores()
    print(f"Whole-sample bootstrap of {n:,} × {m}, {cores} cores, median of {args.rounds} rounds")
    print(f"{'set-up':<44}{'s per analysis':>16}{'× one alone':>14}")
    rows = [
        ("one alone, default threads", (1, False), (1, False)),
        ("two at once, default threads", (2, False), (1, False)),
        (f"one alone, limited ({cores // 2 or 1} thread(s))", (1, True), (1, False)),
        ("two at once, limited", (2, True), (1, True)),
    ]
    for label, key, base in rows:
        print(f"{label:<44}{med[key]:>16.2f}{med[key] / med[base]:>14.2f}")
    together = statistics.median(threaded)
    label = "two at once in two threads, default threads"
    print(f"{label:<44}{together:>16.2f}{together / med[(1, False)]:>14.2f}")
    print(
        f"Two at once with the limit take {med[(2, True)] / med[(2, False)]:.2f}× the time of two "
        f"at once without it; each pair finishes in {med[(2, True)]:.2f} s instead of "
        f"{med[(2, False)]:.2f} s, against {2 * med[(1, False)]:.2f} s one after the other."
    )


if __name__ == "__main__":
    main()
