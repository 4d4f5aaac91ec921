"""Load benchmark: complete 100-outcome submissions per second through gunicorn and PostgreSQL.

Run: ``python bench/bench_load.py [--outcomes 100] [--concurrency 16] [--seconds 10] [--rounds 5]
[--server gthread:4:4]``

Creates (if needed) and migrates the PostgreSQL database ``opportunity_engine_load`` (or
--database-url), seeds a published survey with --outcomes outcomes over the job's eight steps and
two profile questions, starts its own redis-server as the Celery broker and the shared cache (so
a completed response is published to a broker as in production, no worker consumes it; and the
per-address rate limit counts every submission in Redis, its limit raised out of the way) and
gunicorn with DJANGO_SETTINGS_MODULE=bench.load_settings (the product's settings and URLs plus
the bench-only baselines of bench/load_urls.py). A load generator in a separate process
(threads, one keep-alive ``http.client`` connection each, the same --concurrency for every
endpoint) measures:

- submissions: POST /api/public/surveys/<token>/responses/, each one complete response with every
  outcome rated and the profile answered, under a unique idempotency key (expects 201), on the
  fast path (surveys/fastpath/, the default);
- reference path: the same requests to a second gunicorn, alike but for
  PUBLIC_SUBMISSION_PATH=reference (DRF's serializer and rendering, the ORM, no cache): what the
  fast path's complexity buys;
- ceiling: POST /bench/write-one/ with the same bodies, which inserts one row with raw SQL through
  the same middleware stack: the framework's own ceiling for a request that stores something,
  the baseline the target refers to;
- DRF baseline: POST /bench/write-one-drf/ with the same bodies, a DRF APIView (no
  authentication, AllowAny, JSON parser) that parses the body and inserts one row through the
  ORM: what a plain DRF endpoint costs, for context;
- client ceiling: the same client against a trivial asyncio HTTP responder, to show the load
  generator is not the bottleneck.

Each figure is the median of --rounds rounds of --seconds (the rounds are listed), after a
warm-up; requests/s count the requests completed inside the round's window, p50/p99 are their
latencies. Beside them, the server's CPU time per request (gunicorn workers, their PostgreSQL
backends, redis-server; read from /proc), which unlike requests/s barely depends on what else the
machine is running. The rounds alternate the endpoints, so all of them see the same machine.
Target: submissions/s ≥ 0.5 × the ceiling's requests/s; the ratios of both submission paths to
the ceiling, the DRF baseline and each other are printed beside it. The load average is
printed before and after the measurements: other work on the machine lowers every requests/s.
At the end the stored responses are counted against the 201s the
client saw (none lost, none twice).

The gunicorn default (gthread, 4 workers × 4 threads) was the fastest of gthread 4×4, 2×8, 4×2
and sync 4×1 on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load_servers import (  # noqa: E402 (bench/ is on the path from here)
    REFERENCE_APP_NAME,
    CpuMeter,
    free_port,
    start_gunicorn,
    start_redis,
    stop,
    trivial_server,
)

DEFAULT_URL = "postgres://root@127.0.0.1:5432/opportunity_engine_load"
TARGET_RATIO = 0.5
KEY = "__IDEMPOTENCY_KEY__"
BENCH_TABLE = "bench_write_one"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outcomes", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16, help="client connections")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one round")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds, per endpoint")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--server",
        default="gthread:4:4",
        help="gunicorn worker class:workers:threads (sync ignores threads)",
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--seed", type=int, default=20240501)
    return parser.parse_args()


# --- Seeding (in this process, through the product's services) ---------------------------------


def seed(args: argparse.Namespace) -> tuple[str, list[str]]:
    """A published survey; returns its public token and outcome codes."""
    from jtbd import services as jtbd_services
    from jtbd.models import JobKind, OutcomeStatus
    from surveys import services
    from surveys.models import Question
    from workspaces.models import Workspace

    stamp = time.strftime("%Y%m%d-%H%M%S")
    workspace = Workspace.objects.create(name=f"Load {stamp}", slug=f"load-{stamp}")
    job = jtbd_services.create_job(
        workspace=workspace,
        statement="Get a newly purchased tool adopted across my team",
        executor="Team lead",
        kind=JobKind.CORE_FUNCTIONAL,
    )
    steps = list(job.steps.order_by("order"))
    for i in range(args.outcomes):
        jtbd_services.add_outcome(
            step=steps[i % len(steps)],
            statement=f"Minimize the time it takes to finish adoption task number {i}",
            status=OutcomeStatus.APPROVED,
            confirm_flagged=True,
        )
    survey = services.create_survey(workspace=workspace, job=job, title=f"Load {stamp}")
    Question.objects.create(
        survey=survey,
        key="role",
        kind="single",
        text="Your role?",
        options=["Team lead", "Manager", "Individual contributor"],
        order=1,
    )
    Question.objects.create(
        survey=survey, key="team_size", kind="number", text="How many people?", order=2
    )
    services.publish_survey(survey=survey)
    return survey.public_token, list(survey.current_version.outcome_codes)


def ensure_bench_table() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {BENCH_TABLE} ("
            "id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), "
            "size integer NOT NULL)"
        )


def bodies(codes: list[str], seed_value: int, count: int = 64) -> list[str]:
    """JSON bodies with varied answers; KEY is replaced by a unique idempotency key per request."""
    import random

    rng = random.Random(seed_value)
    roles = ["Team lead", "Manager", "Individual contributor"]
    out = []
    for _ in range(count):
        answers = {
            "ratings": {
                c: {"importance": rng.randint(1, 5), "satisfaction": rng.randint(1, 5)}
                for c in codes
            },
            "profile": {"role": rng.choice(roles), "team_size": rng.randint(2, 40)},
        }
        out.append(json.dumps({"idempotency_key": KEY, "answers": answers}))
    return out


# --- Load generator (a separate process) -------------------------------------------------------


def drive(
    port: int,
    path: str,
    templates: list[str],
    prefix: str,
    concurrency: int,
    warmup: float,
    seconds: float,
    results,
) -> None:
    """Keep `concurrency` keep-alive connections busy for warmup + seconds; put the statuses and
    latencies of the requests completed inside the measured window on `results`."""
    start = time.perf_counter() + 0.2  # every thread starts at once
    window = (start + warmup, start + warmup + seconds)
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    totals: dict[int, int] = {}
    errors: list[str] = []

    def worker(t: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Content-Type": "application/json"}
        own_lat, own_status, own_total, n = [], {}, {}, 0
        while time.perf_counter() < start:
            time.sleep(0.001)
        while True:
            t0 = time.perf_counter()
            if t0 >= window[1]:
                break
            body = templates[(t + n) % len(templates)].replace(KEY, f"{prefix}-{t}-{n}").encode()
            n += 1
            try:
                conn.request("POST", path, body, headers)
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                with lock:
                    errors.append(repr(exc))
                continue
            t1 = time.perf_counter()
            own_total[status] = own_total.get(status, 0) + 1
            if window[0] <= t1 <= window[1] and t0 >= window[0]:
                own_lat.append(t1 - t0)
                own_status[status] = own_status.get(status, 0) + 1
        conn.close()
        with lock:
            latencies.extend(own_lat)
            for s, c in own_status.items():
                statuses[s] = statuses.get(s, 0) + c
            for s, c in own_total.items():
                totals[s] = totals.get(s, 0) + c

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    results.put({"latencies": latencies, "statuses": statuses, "totals": totals, "errors": errors})


def measure(
    ctx, port: int, path: str, templates, prefix: str, args, warmup: float, seconds: float
) -> dict:
    results = ctx.Queue()
    proc = ctx.Process(
        target=drive,
        args=(port, path, templates, prefix, args.concurrency, warmup, seconds, results),
    )
    proc.start()
    out = results.get(timeout=warmup + seconds + 120)
    proc.join(timeout=30)
    lat = sorted(out["latencies"])
    ok = sum(c for s, c in out["statuses"].items() if s < 400)
    out["rate"] = ok / seconds
    out["p50"] = lat[len(lat) // 2] if lat else float("nan")
    out["p99"] = lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else float("nan")
    bad = {s: c for s, c in out["totals"].items() if s >= 400}
    if bad or out["errors"]:
        print(f"    {path}: non-success statuses {bad}, errors {out['errors'][:3]}")
    return out


# --- Main --------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def row(label: str, figures: list[dict]) -> str:
    rates = [f["rate"] for f in figures]
    p50 = statistics.median(f["p50"] for f in figures) * 1000
    p99 = statistics.median(f["p99"] for f in figures) * 1000
    rounds = ", ".join(f"{r:.1f}" for r in rates)
    return f"{label:34} {statistics.median(rates):9.1f} {p50:8.1f} {p99:8.1f}   [{rounds}]"


def main() -> None:
    args = parse_args()
    from bench_import import ensure_database, setup_django

    ensure_database(args.database_url)
    setup_django(args.database_url)  # migrates
    from django.db import connection

    ensure_bench_table()
    t0 = time.perf_counter()
    token, codes = seed(args)
    print(f"seeded a survey of {len(codes)} outcomes in {time.perf_counter() - t0:.1f} s")
    connection.close()
    templates = bodies(codes, args.seed)
    submit_path = f"/api/public/surveys/{token}/responses/"
    ctx = multiprocessing.get_context("spawn")

    kind, workers, threads = args.server.split(":")
    print(
        f"database {connection.settings_dict['NAME']}; cores {os.cpu_count()}; load average "
        f"{load_average()}\n"
        f"gunicorn {kind}: {workers} workers × {threads} threads; client: {args.concurrency} "
        f"keep-alive connections in a separate process; {args.rounds} rounds of "
        f"{args.seconds:g} s after {args.warmup:g} s warm-up per endpoint; "
        f"body {len(templates[0])} bytes"
    )

    trivial_port = free_port()
    ready = ctx.Event()
    trivial = ctx.Process(target=trivial_server, args=(trivial_port, ready), daemon=True)
    trivial.start()
    ready.wait(10)
    client = measure(ctx, trivial_port, "/", templates, "trivial", args, 0.5, 3.0)
    trivial.terminate()

    redis_port = free_port()
    redis = start_redis(redis_port)
    server = reference_server = None
    created = 0
    try:
        port, reference_port = free_port(), free_port()
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        server = start_gunicorn(args, redis_url, port)
        # Idle while the others are measured: each round runs one endpoint at a time.
        reference_server = start_gunicorn(
            args, redis_url, reference_port, "reference", REFERENCE_APP_NAME
        )
        meter = CpuMeter(args.database_url, server.pid, redis.pid)
        reference_meter = CpuMeter(
            args.database_url, reference_server.pid, redis.pid, REFERENCE_APP_NAME
        )
        endpoints = [
            ("ceiling", port, meter, "/bench/write-one/"),
            ("drf", port, meter, "/bench/write-one-drf/"),
            ("submit", port, meter, submit_path),
            ("reference", reference_port, reference_meter, submit_path),
        ]
        figures: dict[str, list[dict]] = {name: [] for name, *_ in endpoints}
        for r in range(args.rounds):
            warmup = args.warmup if r == 0 else 0.5
            for name, at, cpu, path in endpoints:
                before = cpu.sample()
                out = measure(ctx, at, path, templates, f"{name}{r}", args, warmup, args.seconds)
                after = cpu.sample()
                served = sum(out["totals"].values())
                out["cpu"] = {k: (after[k] - before[k]) / served * 1000 for k in after}
                figures[name].append(out)
                if name in ("submit", "reference"):
                    created += out["totals"].get(201, 0)
    finally:
        for running in (server, reference_server):
            if running is not None:
                stop(running)
        stop(redis)

    from surveys.models import Response, Survey

    stored = Response.objects.filter(survey=Survey.objects.get(public_token=token)).count()
    print(f"load average after the measurements (the benchmark's own included): {load_average()}")
    print()
    print(f"{'':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   [req/s of each round]")
    print(row("client ceiling (trivial server)", [client]))
    print(row("ceiling: POST /bench/write-one/", figures["ceiling"]))
    print(row("DRF baseline: /bench/write-one-drf/", figures["drf"]))
    print(row(f"submissions, fast ({len(codes)} outcomes)", figures["submit"]))
    print(row("submissions, reference path", figures["reference"]))
    print(
        "\nserver CPU per request, ms (median of rounds, each column on its own; whole runs incl. "
        "warm-up)"
    )
    print(f"{'':34} {'gunicorn':>9} {'postgres':>9} {'redis':>9} {'total':>9}")
    labels = (
        ("ceiling", "ceiling"),
        ("DRF baseline", "drf"),
        ("submissions, fast", "submit"),
        ("submissions, reference path", "reference"),
    )
    totals = {}
    for label, name in labels:
        cpu = {
            k: statistics.median(f["cpu"][k] for f in figures[name])
            for k in ("app", "postgres", "redis")
        }
        totals[name] = statistics.median(sum(f["cpu"].values()) for f in figures[name])
        print(
            f"{label:34} {cpu['app']:9.2f} {cpu['postgres']:9.2f} {cpu['redis']:9.2f} "
            f"{totals[name]:9.2f}"
        )
    rate = {name: statistics.median(f["rate"] for f in figures[name]) for _, name in labels}
    ratio = rate["submit"] / rate["ceiling"]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"\nratio submissions/ceiling (the target's baseline): {ratio:.2f} "
        f"({verdict} the target ≥ {TARGET_RATIO}); by CPU per request: "
        f"{totals['ceiling'] / totals['submit']:.2f}"
    )
    print(
        f"ratio submissions/DRF baseline (context): {rate['submit'] / rate['drf']:.2f}; by CPU "
        f"per request: {totals['drf'] / totals['submit']:.2f}"
    )
    print()
    print(f"{'req/s ratios (by CPU per request)':34} {'fast':>14} {'reference':>14}")
    for label, base in (("to the ceiling", "ceiling"), ("to the DRF baseline", "drf")):
        print(
            f"{label:34} "
            + " ".join(
                f"{rate[name] / rate[base]:6.2f} ({totals[base] / totals[name]:4.2f})"
                for name in ("submit", "reference")
            )
        )
    print(
        f"fast path / reference path: {rate['submit'] / rate['reference']:.2f}× the "
        f"requests/s, {totals['reference'] / totals['submit']:.2f}× less CPU per request"
    )
    print(f"stored responses: {stored}; 201 answers seen by the client: {created}")
    if stored != created:
        raise SystemExit("stored responses differ from the 201s: lost or duplicated submissions")


if __name__ == "__main__":
    main()
