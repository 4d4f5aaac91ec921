"""Benchmark of a whole analysis run on PostgreSQL (100,000 respondents × 100 outcomes by default).

Run: ``python bench/bench_analysis.py [--respondents N] [--outcomes M] [--subset K] [--segments S]
[--repeat R]``

Sets Django up against DATABASE_URL (default: a PostgreSQL database ``opportunity_engine_bench``,
created and migrated if needed), generates planted-segment data with rating-style noise
(analysis.core.synthetic), writes it as a wide CSV and imports it with
surveys.importing.import_study (a survey of the same size and seed is reused unless --fresh).
With ``--subset K`` each respondent rates only the K outcomes that
``analysis.core.designs.counter_allocation`` gives them, as a planned-subset survey does; the
others are written as 99 ("not shown by design") and stored as code 7. Then it times:

- ``load_matrix`` of the survey (median of --repeat), beside the raw transfer of the same rows'
  ratings (a plain cursor fetching ``SELECT ratings … WHERE`` load_matrix's filter into Python
  bytes: the floor of any load) and beside load_matrix's plain reference path; the target is
  load_matrix within twice the raw transfer;
- whole-sample scores + bootstrap intervals and rank stability, 1,000 resamples (median);
- per-segment scores + bootstrap for every segment found (median);
  these three together are the issue's first target: under 3 s;
- segmentation with automatic k and stability (once): under 60 s;
- the whole ``execute_run`` (as a worker runs it: load, scores, segments, profiles, one write
  transaction) in a fresh process, with that process's peak RSS: under 1 GB.

Baseline measured in the same run: the same whole-sample top-two-box scores computed with pandas
from the CSV of the same data (read_csv reading 98 and 99 as missing + per-column shares; what an
analyst would do today), printed beside ``load_matrix`` + ``score`` as a speed ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import DEFAULT_URL, ensure_database, setup_django  # noqa: E402

TARGET_SCORES = 3.0
TARGET_SEGMENTATION = 60.0
TARGET_MEMORY_MB = 1024.0
TARGET_LOAD_RATIO = 2.0  # load_matrix against the raw transfer of the same ratings
NOT_SHOWN_IN_FILE = "99"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument(
        "--subset", type=int, help="each respondent rates K outcomes (planned subset)"
    )
    parser.add_argument("--segments", type=int, default=4, help="planted segments")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--fresh", action="store_true", help="import again even if present")
    parser.add_argument("--execute-run", type=int, help=argparse.SUPPRESS)  # child process mode
    return parser.parse_args()


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median wall time over `repeat` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def write_wide_csv(
    path: Path, imp: np.ndarray, sat: np.ndarray, roles: list[str], shown: np.ndarray | None
) -> None:
    """The wide file; where `shown` (bool, like `imp`) is False both ratings are written as 99."""
    n, m = imp.shape
    codes = [f"O{j + 1:03d}" for j in range(m)]
    header = ["respondent_id", "role", *(f"{p}_{c}" for c in codes for p in ("imp", "sat"))]
    text = np.array(["", "1", "2", "3", "4", "5", NOT_SHOWN_IN_FILE])
    if shown is not None:
        imp, sat = np.where(shown, imp, 6), np.where(shown, sat, 6)
    cells = np.empty((n, 2 * m), dtype=object)
    cells[:, 0::2] = text[imp]
    cells[:, 1::2] = text[sat]
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(",".join(header) + "\n")
        for i, row in enumerate(cells.tolist()):
            f.write(f"b{i:06d},{roles[i]},")
            f.write(",".join(row))
            f.write("\n")


def pandas_scores(path: Path, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The analyst's way: read the CSV, per outcome the share of 4–5 among answers."""
    import pandas as pd

    frame = pd.read_csv(path, na_values=["98", NOT_SHOWN_IN_FILE])
    codes = [f"O{j + 1:03d}" for j in range(m)]
    imp = frame[[f"imp_{c}" for c in codes]]
    sat = frame[[f"sat_{c}" for c in codes]]
    i = 10 * (imp >= 4).sum() / imp.notna().sum()
    s = 10 * (sat >= 4).sum() / sat.notna().sum()
    o = i + (i - s.values).clip(lower=0)
    return i.to_numpy(), s.to_numpy(), o.to_numpy()


def peak_rss_mb() -> float:
    """This process's own peak resident set (VmHWM). Not ru_maxrss: in a process started by
    subprocess it begins at the parent's peak (Linux carries the larger over the exec), so it
    counted the benchmark's own data, 1.2 GB more at 100,000 × 150, as the analysis's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_execute(args: argparse.Namespace) -> None:
    """Run one analysis as a worker would, in this fresh process; print timings and peak RSS."""
    setup_django(args.database_url)
    from analysis import runs
    from surveys.models import Survey

    survey = Survey.objects.get(pk=args.execute_run)
    t0 = time.perf_counter()
    run = runs.analyze_now(survey=survey, parameters={"seed": args.seed})
    seconds = time.perf_counter() - t0
    peak_mb = peak_rss_mb()
    print(
        json.dumps(
            {
                "status": run.status,
                "error": run.error[:500],
                "seconds": seconds,
                "timings": run.timings,
                "peak_mb": peak_mb,
                "k": run.segmentation.get("k"),
            }
        )
    )


def raw_transfer(survey: Any, *, binary: bool = False) -> list[bytes]:
    """The floor of any load: the ratings of the rows load_matrix reads (its own filter, compiled
    by the ORM), fetched by a plain cursor into one Python bytes object per row; no ids, no
    order, no matrix. `binary`: a psycopg cursor asking for binary results (bytea as bytes, not
    hex text), the format load_matrix's fast path reads."""
    import psycopg
    from django.db import connection

    from surveys.models import Response

    rows = Response.objects.filter(survey=survey).analysable().values_list("ratings")
    sql, params = rows.query.sql_with_params()
    if binary:
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as raw:
            raw.execute(sql, params, prepare=False, binary=True)
            return [bytes(blob) for (blob,) in raw.fetchall()]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [bytes(blob) for (blob,) in cursor.fetchall()]


def survey_for(args: argparse.Namespace, csv_path: Path) -> tuple[Any, np.ndarray, float | None]:
    """The imported survey for these arguments (reused when present), and the planted labels."""
    from analysis.core.designs import counter_allocation
    from analysis.core.synthetic import generate
    from surveys.importing import import_study
    from surveys.models import Survey
    from surveys.wide_csv import ImportOptions
    from workspaces.models import Workspace

    n, m, k = args.respondents, args.outcomes, args.segments
    imp, sat, labels = generate(n, m, k, seed=args.seed)
    roles = ["Manager", "Engineer", "Analyst", "Director", "Owner", "Intern"]
    role_of = [roles[int(s) % len(roles)] for s in labels]
    shown = None if args.subset is None else counter_allocation(n, m, args.subset, args.seed)
    write_wide_csv(csv_path, imp, sat, role_of, shown)
    name = f"bench-analysis {n}x{m} k{k} seed {args.seed}"
    if args.subset is not None:
        name += f" K={args.subset}"
    survey = Survey.objects.filter(title=name).order_by("-id").first()
    if survey is not None and not args.fresh and survey.responses.count() == n:
        return survey, labels, None
    workspace, _ = Workspace.objects.get_or_create(slug="bench", defaults={"name": "Bench"})
    t0 = time.perf_counter()
    result = import_study(
        workspace=workspace,
        name=name,
        data=csv_path.read_bytes(),
        options=ImportOptions(profile_columns=("role",)),
    )
    return result.survey, labels, time.perf_counter() - t0


def main() -> None:
    args = parse_args()
    if args.execute_run:
        child_execute(args)
        return
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from django.db import connection
    from sklearn.metrics import adjusted_rand_score

    from analysis.core.bootstrap import bootstrap_scores
    from analysis.core.scoring import score
    from analysis.core.segments import segment
    from surveys.ratings import load_matrix

    n, m, r = args.respondents, args.outcomes, args.repeat
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    from threadpoolctl import threadpool_info

    # Without a broker (REDIS_URL unset) the app limits BLAS to one thread per core-sharing
    # analysis (analysis/threads.py), as a worker with one pool process per core runs it.
    blas = [p["num_threads"] for p in threadpool_info() if p.get("user_api") == "blas"]
    print(f"BLAS threads in this process: {blas[0] if blas else 'unknown'}")
    design = "all rated" if args.subset is None else f"K = {args.subset} rated each (planned)"
    print(
        f"data: {n:,} respondents × {m} outcomes, {design}, {args.segments} planted segments, "
        f"{r} runs"
    )
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "study.csv"
        survey, truth, import_seconds = survey_for(args, csv_path)
        if import_seconds is not None:
            print(f"imported survey {survey.pk} in {import_seconds:.1f} s")
        else:
            print(f"reusing imported survey {survey.pk} (--fresh to import again)")

        raw, blobs = timed(lambda: raw_transfer(survey), r)
        raw_mb = sum(map(len, blobs)) / 1e6
        del blobs
        raw_binary, _ = timed(lambda: raw_transfer(survey, binary=True), r)
        reference, plain_matrix = timed(lambda: load_matrix(survey, path="reference"), r)
        load, matrix = timed(lambda: load_matrix(survey), r)
        same = all(
            np.array_equal(getattr(matrix, f), getattr(plain_matrix, f))
            for f in ("response_ids", "importance", "satisfaction")
        ) and (matrix.respondent_ids, matrix.codes) == (
            plain_matrix.respondent_ids,
            plain_matrix.codes,
        )
        del plain_matrix
        imp, sat = matrix.importance, matrix.satisfaction
        rng = np.random.default_rng(args.seed)
        whole, _ = timed(lambda: bootstrap_scores(imp, sat, n_resamples=1000, seed=rng), r)
        plain, ours = timed(lambda: score(imp, sat), r)

        t0 = time.perf_counter()
        seg = segment(imp, sat, seed=rng)
        seg_seconds = time.perf_counter() - t0
        order = np.argsort(matrix.response_ids)  # imported in file order: ids follow rows
        ari = adjusted_rand_score(truth, seg.labels[order]) if seg.found else float("nan")

        def per_segment() -> None:
            for s in range(seg.k):
                bootstrap_scores(imp, sat, seg.labels == s, n_resamples=1000, seed=rng)

        segments, _ = timed(per_segment, r)
        baseline, (_, _, po) = timed(lambda: pandas_scores(csv_path, m), r)
        agree = np.nanmax(np.abs(po - ours.opportunity[: len(po)]))

        child = subprocess.run(
            [sys.executable, __file__, "--execute-run", str(survey.pk), "--seed", str(args.seed)],
            env={**os.environ, "DATABASE_URL": args.database_url},
            capture_output=True,
            text=True,
            check=False,
        )
        if child.returncode != 0:
            print(child.stderr[-3000:])
            raise SystemExit("execute_run child process failed")
        run = json.loads(child.stdout.strip().splitlines()[-1])

    bundle = load + whole + segments
    print()
    print(f"Loading the matrix ({raw_mb:.0f} MB of ratings; ratio = its time / raw transfer)")
    print(f"{'  raw transfer: SELECT ratings (same filter) → Python bytes':66} {raw:8.2f}  1.00")
    print(
        f"{'  the same with binary results (bytea not sent as hex text)':66} {raw_binary:8.2f}  "
        f"{raw_binary / raw:.2f}"
    )
    verdict = "meets" if load < TARGET_LOAD_RATIO * raw else "MISSES"
    print(
        f"{'  load_matrix (PostgreSQL → numpy)':66} {load:8.2f}  {load / raw:.2f}  "
        f"{verdict} < {TARGET_LOAD_RATIO:.0f}×"
    )
    print(
        f"{'  load_matrix, plain reference path (ORM values_list)':66} {reference:8.2f}  "
        f"{reference / raw:.2f}  {'same matrix' if same else 'MATRICES DIFFER'}"
    )
    print(
        f"{'  pandas read_csv + shares (analyst, warm CSV)':66} {baseline:8.2f}  "
        f"{baseline / raw:.2f}"
    )
    print()
    print(f"{'measure':66} {'seconds':>8}")
    print(f"{'load_matrix (PostgreSQL → numpy)':66} {load:8.2f}")
    print(f"{'whole-sample scores + bootstrap (1,000 resamples)':66} {whole:8.2f}")
    print(f"{f'per-segment scores + bootstrap ({seg.k} segments)':66} {segments:8.2f}")
    verdict = "meets" if bundle < TARGET_SCORES else "MISSES"
    print(f"{'  total':66} {bundle:8.2f}  {verdict} < {TARGET_SCORES:.0f} s")
    verdict = "meets" if seg_seconds < TARGET_SEGMENTATION else "MISSES"
    found = f"k={seg.k}, ARI vs planted {ari:.3f}" if seg.found else "no segments"
    print(
        f"{f'segmentation, automatic k + stability ({found})':66} {seg_seconds:8.2f}  "
        f"{verdict} < {TARGET_SEGMENTATION:.0f} s"
    )
    t = run["timings"]
    stages = ", ".join(f"{k} {v:.2f}" for k, v in t.items() if k != "total")
    print(
        f"{'execute_run, whole (fresh process, as a worker)':66} {run['seconds']:8.2f}  "
        f"{run['status']}"
    )
    print(f"  stages: {stages}")
    verdict = "meets" if run["peak_mb"] < TARGET_MEMORY_MB else "MISSES"
    print(f"{'  peak RSS of that process (MB)':66} {run['peak_mb']:8.0f}  {verdict} < 1024 MB")
    print()
    print("Baseline, same run: whole-sample top-two-box scores (ratio = its time / ours)")
    ours_seconds = load + plain
    print(f"{'  load_matrix + score (ours, from PostgreSQL)':66} {ours_seconds:8.2f}  1.00")
    print(
        f"{'  pandas read_csv + shares (analyst, from the CSV)':66} {baseline:8.2f}  "
        f"{baseline / ours_seconds:.2f}"
    )
    print(
        f"{'  ours with the 1,000-resample bootstrap as well':66} {load + whole:8.2f}  "
        f"{baseline / (load + whole):.2f}"
    )
    print(f"  max |ΔO| between pandas and ours: {agree:.2e} (same scores)")


if __name__ == "__main__":
    main()
