"""Benchmark of importing a wide response CSV (100,000 respondents × 100 outcomes by default).

Run: ``python bench/bench_import.py [--respondents N] [--outcomes M] [--repeat R]``

Sets Django up against DATABASE_URL (default: a PostgreSQL database ``opportunity_engine_bench``,
created and migrated if needed), generates seeded wide CSVs (~5 % blank cells), and times
``manage.py import_study`` (median of ``--repeat`` runs, each on fresh data under a fresh name).
Beside it, measured in the same run:

- the floor of any importer: reading the same file with Python's csv module into lists;
- the validation alone (``parse_wide_csv``), to split parsing from storing;
- storing the same ratings one row per rating with COPY (the layout ratings.py chose against);
- ``load_matrix`` of an imported survey against loading the one-row-per-rating table.

Target (from the issue): a valid 100,000 × 100 file imports in under a minute.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://root@127.0.0.1:5432/opportunity_engine_bench"
TARGET_SECONDS = 60.0
LONG_TABLE = "bench_long_ratings"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--blank", type=float, default=0.05, help="share of blank cells")
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--keep", action="store_true", help="keep the imported surveys")
    return parser.parse_args()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    parts = urlparse(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    # A throwaway key for this run only: nothing signed here outlives the benchmark.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(rng: np.random.Generator, n: int, k: int, blank: float):
    """Seeded ratings, uint8 (n, k), 0 = blank."""
    imp = rng.integers(1, 6, (n, k), dtype=np.uint8)
    sat = rng.integers(1, 6, (n, k), dtype=np.uint8)
    imp[rng.random((n, k)) < blank] = 0
    sat[rng.random((n, k)) < blank] = 0
    return imp, sat


def write_wide_csv(path: Path, run: int, imp: np.ndarray, sat: np.ndarray) -> int:
    """Write the wide file: id, two columns a survey tool adds, then imp/sat per code."""
    n, k = imp.shape
    codes = [f"O{j + 1:03d}" for j in range(k)]
    header = ["respondent_id", "Timestamp", "Email"]
    header += [f"{p}_{c}" for c in codes for p in ("imp", "sat")]
    text = np.array(["", "1", "2", "3", "4", "5"])
    cells = np.empty((n, 2 * k), dtype=object)
    cells[:, 0::2] = text[imp]
    cells[:, 1::2] = text[sat]
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write(",".join(header) + "\r\n")
        for i, row in enumerate(cells.tolist()):
            f.write(f"run{run}-{i:06d},2024-05-01 10:00:00,r{i}@example.com,")
            f.write(",".join(row))
            f.write("\r\n")
    return path.stat().st_size


def seconds(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def csv_floor(path: Path) -> int:
    """What any importer must at least do: read the bytes and split them into cells."""
    text = path.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return len(rows)


def long_copy_lines(imp: np.ndarray, sat: np.ndarray, first_id: int) -> tuple[bytes, int]:
    """COPY text for one row per answered rating: 'response\\toutcome\\timp\\tsat\\n'.

    Formatted with numpy (fixed width digits), so the baseline measures the database, not
    Python string formatting. Outcome indexes have three digits (at most 1,000 outcomes)."""
    rows, cols = np.nonzero((imp > 0) | (sat > 0))
    count = rows.size
    rid = rows.astype(np.int64) + first_id
    out = np.empty((count, 20), dtype=np.uint8)
    for pos in range(10):  # response id, 10 digits with leading zeros
        out[:, 9 - pos] = 48 + (rid // 10**pos) % 10
    out[:, 10] = 9
    out[:, 11] = 48 + cols // 100
    out[:, 12] = 48 + (cols // 10) % 10
    out[:, 13] = 48 + cols % 10
    out[:, 14] = 9
    out[:, 15] = 48 + imp[rows, cols]
    out[:, 16] = 9
    out[:, 17] = 48 + sat[rows, cols]
    out[:, 18] = 10
    return out[:, :19].tobytes(), count


def copy_long(data: bytes) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {LONG_TABLE}")
        cursor.execute(
            f"CREATE TABLE {LONG_TABLE} (response_id bigint NOT NULL, outcome smallint NOT NULL, "
            "importance smallint NOT NULL, satisfaction smallint NOT NULL, "
            "PRIMARY KEY (response_id, outcome))"
        )
        raw = cursor.cursor
        with raw.copy(
            f"COPY {LONG_TABLE} (response_id, outcome, importance, satisfaction) FROM STDIN"
        ) as copy:
            step = 8 << 20
            for start in range(0, len(data), step):
                copy.write(data[start : start + step])


def load_long(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Load the one-row-per-rating table into the same (n, k) matrices."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT response_id, outcome, importance, satisfaction FROM {LONG_TABLE} "
            "ORDER BY response_id, outcome"
        )
        data = np.array(cursor.fetchall(), dtype=np.int64)
    imp = np.zeros((n, k), np.uint8)
    sat = np.zeros((n, k), np.uint8)
    _, index = np.unique(data[:, 0], return_inverse=True)
    imp[index, data[:, 1]] = data[:, 2]
    sat[index, data[:, 1]] = data[:, 3]
    return imp, sat


def drop_surveys(survey_ids: list[int]) -> None:
    from django.db import connection, transaction

    from jtbd.models import Job
    from surveys.models import Response, Survey

    with transaction.atomic():
        jobs = list(Survey.objects.filter(pk__in=survey_ids).values_list("job_id", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {Response._meta.db_table} WHERE survey_id = ANY(%s)", [survey_ids]
            )
        Survey.objects.filter(pk__in=survey_ids).delete()
        Job.objects.filter(pk__in=jobs).delete()


def main() -> None:
    args = parse_args()
    n, k = args.respondents, args.outcomes
    ensure_database(args.database_url)
    setup_django(args.database_url)

    from django.core.management import call_command
    from django.db import connection

    from surveys import ratings
    from surveys.models import Survey
    from surveys.wide_csv import ImportOptions, parse_wide_csv

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    print(f"file: {n:,} respondents × {k} outcomes, {args.blank:.0%} blanks, {args.repeat} runs")

    imports, floors, parses = [], [], []
    survey_ids: list[int] = []
    last = None
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            rng = np.random.default_rng(args.seed + run)
            imp, sat = generate(rng, n, k, args.blank)
            path = Path(tmp) / f"run{run}.csv"
            size = write_wide_csv(path, run, imp, sat)

            floor, rows = seconds(lambda path=path: csv_floor(path))
            assert rows == n + 1
            data = path.read_bytes()
            parse, _ = seconds(lambda data=data: parse_wide_csv(data, ImportOptions()))
            out = io.StringIO()
            took, _ = seconds(
                lambda path=path, run=run, out=out: call_command(
                    "import_study",
                    str(path),
                    "--name",
                    f"Bench import {time.time():.0f}-{run}",
                    stdout=out,
                )
            )
            survey_ids.append(int(out.getvalue().splitlines()[-1]))
            imports.append(took)
            floors.append(floor)
            parses.append(parse)
            last = (imp, sat)
            print(
                f"  run {run + 1}: {size / 1e6:.0f} MB, import_study {took:.2f} s "
                f"(validation {parse:.2f} s), csv.reader floor {floor:.2f} s"
            )

    imp, sat = last
    survey = Survey.objects.get(pk=survey_ids[-1])
    load, matrix = seconds(lambda: ratings.load_matrix(survey))
    order = np.array([int(r.split("-")[1]) for r in matrix.respondent_ids])
    assert np.array_equal(matrix.importance, imp[order]), "load_matrix does not match the file"
    assert np.array_equal(matrix.satisfaction, sat[order])

    long_data, long_rows = long_copy_lines(imp, sat, first_id=1)
    long_copy = long_load = None
    if connection.vendor == "postgresql":
        long_copy, _ = seconds(lambda: copy_long(long_data))
        long_load, (limp, lsat) = seconds(lambda: load_long(n, k))
        assert np.array_equal(limp, imp) and np.array_equal(lsat, sat)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {LONG_TABLE}")

    if not args.keep:
        drop_surveys(survey_ids)

    median = statistics.median(imports)
    floor = statistics.median(floors)
    parse = statistics.median(parses)
    print()
    print(f"{'measure':58} {'seconds':>8} {'ratio':>7}")
    print(f"{'import_study, median (the measured code)':58} {median:8.2f} {'1.00':>7}")
    print(f"{'  of which validation (parse_wide_csv)':58} {parse:8.2f} {parse / median:7.2f}")
    print(
        f"{'csv.reader into lists (floor of any importer)':58} {floor:8.2f} {floor / median:7.2f}"
    )
    print(f"  import_study / csv floor: {median / floor:.1f}×")
    if long_copy is not None:
        label = f"COPY {long_rows:,} rows, one per rating (baseline)"
        print(f"{label:58} {long_copy:8.2f} {long_copy / median:7.2f}")
    print()
    print(f"{'load_matrix of the imported survey':58} {load:8.2f} {'1.00':>7}")
    if long_load is not None:
        label = "load of the one-row-per-rating table (baseline)"
        print(f"{label:58} {long_load:8.2f} {long_load / load:7.2f}")
    verdict = "meets" if median < TARGET_SECONDS else "MISSES"
    print(f"\nimport_study {median:.1f} s {verdict} the target of {TARGET_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
