"""Benchmark of the results pages of a 100,000-respondent survey on PostgreSQL.

Run: ``python bench/bench_results_page.py [--respondents N] [--outcomes M] [--repeat R]``

Sets Django up against DATABASE_URL (default: the PostgreSQL database
``opportunity_engine_bench``, created and migrated if needed) and reuses the survey that
bench/bench_analysis.py leaves there (imported the same way when it is missing). It makes sure the
survey has a succeeded analysis run (``analysis.runs.analyze_now`` when not), signs in a
workspace member (a viewer created for the benchmark) with ``django.test.Client`` and times, as
the median of --repeat renders after one warm-up:

- ``/surveys/<pk>/results/`` (the issue's target: well under a second),
- ``/surveys/<pk>/results/jobmap/`` and ``/surveys/<pk>/results/segments/``,

each with its number of SQL queries. Baseline measured in the same run: a minimal signed-in page
of the same app (``/jobs/``), printed beside each page as the ratio page time / baseline time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_import import DEFAULT_URL, ensure_database, setup_django  # noqa: E402

TARGET_SECONDS = 0.5  # "well under a second"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--respondents", type=int, default=100_000)
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument("--segments", type=int, default=4, help="planted segments")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--seed", type=int, default=20240501)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--fresh", action="store_true", help="import again even if present")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    setup_django(args.database_url)
    from bench_analysis import survey_for
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from analysis import runs
    from analysis.models import AnalysisRun
    from workspaces.models import Membership, Role

    setup_test_environment()  # lets the test client's host through ALLOWED_HOSTS
    # Pages are rendered without `collectstatic`: plain static URLs instead of the manifest.
    static = "django.contrib.staticfiles.storage.StaticFilesStorage"
    override_settings(STORAGES={**settings.STORAGES, "staticfiles": {"BACKEND": static}}).enable()
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    with tempfile.TemporaryDirectory() as tmp:
        survey, _, import_seconds = survey_for(args, Path(tmp) / "study.csv")
    if import_seconds is not None:
        print(f"imported survey {survey.pk} in {import_seconds:.1f} s")
    else:
        print(f"reusing imported survey {survey.pk} (--fresh to import again)")
    run = AnalysisRun.objects.latest_succeeded(survey)
    if run is None:
        t0 = time.perf_counter()
        run = runs.analyze_now(survey=survey, parameters={"seed": args.seed})
        print(f"analysed survey {survey.pk} in {time.perf_counter() - t0:.1f} s ({run.status})")
        if run.status != "succeeded":
            raise SystemExit(f"analysis failed: {run.error[:500]}")
    print(
        f"run {run.pk}: {run.n_respondents:,} respondents × {run.n_outcomes} outcomes, "
        f"{run.segments.count()} segments"
    )

    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(username="bench-results-reader")
    Membership.objects.get_or_create(
        workspace=survey.workspace, user=user, defaults={"role": Role.VIEWER}
    )
    client = Client()
    client.force_login(user)

    def measure(url: str) -> tuple[float, int, int]:
        response = client.get(url)  # warm-up (template loading, connection)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - t0)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        return statistics.median(times), len(queries), len(response.content)

    baseline, base_queries, base_bytes = measure("/jobs/")
    pages = [
        ("results", f"/surveys/{survey.pk}/results/"),
        ("job map", f"/surveys/{survey.pk}/results/jobmap/"),
        ("segments", f"/surveys/{survey.pk}/results/segments/"),
    ]
    print()
    print(f"median of {args.repeat} renders (signed in, django.test.Client, after a warm-up)")
    print(f"{'page':44} {'seconds':>8} {'queries':>8} {'KB':>7} {'ratio':>7}")
    print(
        f"{'baseline: /jobs/ (minimal signed-in page)':44} {baseline:8.3f} {base_queries:8d} "
        f"{base_bytes / 1024:7.0f} {1:7.2f}"
    )
    for label, url in pages:
        seconds, queries, size = measure(url)
        verdict = ""
        if label == "results":
            verdict = "  meets" if seconds < TARGET_SECONDS else "  MISSES"
            verdict += f" < {TARGET_SECONDS} s"
        print(
            f"{f'{label}: {url}':44} {seconds:8.3f} {queries:8d} {size / 1024:7.0f} "
            f"{seconds / baseline:7.2f}{verdict}"
        )


if __name__ == "__main__":
    main()
