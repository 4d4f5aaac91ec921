"""The processes bench_load.py measures and how it measures their CPU: gunicorn on the product's
settings, a private redis-server, a trivial HTTP responder (the client's own ceiling), and CPU
seconds read from /proc."""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- A trivial HTTP responder: the client's own ceiling ---------------------------------------


def trivial_server(port: int, ready) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                if length:
                    await reader.readexactly(length)
                writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


# --- CPU accounting: what one request costs the server, whatever else runs on the machine -------

APP_NAME = "oe-bench-load"  # the application_name of gunicorn's PostgreSQL connections
REFERENCE_APP_NAME = "oe-bench-load-reference"  # the reference path's gunicorn
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return out


class CpuMeter:
    """CPU seconds used by gunicorn's workers, their PostgreSQL backends and redis-server."""

    def __init__(
        self, database_url: str, gunicorn: int, redis: int, app_name: str = APP_NAME
    ) -> None:
        self.database_url, self.gunicorn, self.redis = database_url, gunicorn, redis
        self.app_name = app_name

    def sample(self) -> dict[str, float]:
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s", (self.app_name,)
            ).fetchall()
        return {
            "app": sum(cpu_seconds(p) for p in children(self.gunicorn)),
            "postgres": sum(cpu_seconds(p) for (p,) in rows),
            "redis": cpu_seconds(self.redis),
        }


# --- Servers -----------------------------------------------------------------------------------


def wait_until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def start_gunicorn(
    args: argparse.Namespace,
    redis_url: str,
    port: int,
    submission_path: str = "fast",
    app_name: str = APP_NAME,
) -> subprocess.Popen:
    kind, workers, threads = args.server.split(":")
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG",)}
    env.update(
        DJANGO_SETTINGS_MODULE="bench.load_settings",
        DATABASE_URL=f"{args.database_url}?application_name={app_name}",
        PUBLIC_SUBMISSION_PATH=submission_path,
        REDIS_URL=redis_url,
        # A throwaway key for this run only: nothing signed here outlives the benchmark.
        SECRET_KEY=secrets.token_urlsafe(50),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_COOKIES="0",
        STATIC_MANIFEST="0",
        # Every request comes from 127.0.0.1: the per-address limit stays in the measured path
        # (its counter round trip to Redis), its limit raised out of the way.
        RATE_LIMIT_PUBLIC="1000000000",
        LOG_LEVEL="WARNING",
    )
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--worker-class", kind, "--workers", workers]
    command += ["--threads", threads, "--keep-alive", "5", "--timeout", "60"]
    command += ["--no-control-socket", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def answers() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/accounts/login/")
        return conn.getresponse().status == 200

    wait_until(answers, 60, "gunicorn")
    return server


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def start_redis(port: int) -> subprocess.Popen:
    if shutil.which("redis-server") is None:
        raise SystemExit("redis-server is needed (Debian package redis-server)")
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)

    def answers() -> bool:
        with socket.create_connection(("127.0.0.1", port), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    wait_until(answers, 20, "redis-server")
    return proc
