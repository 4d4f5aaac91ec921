#!/usr/bin/env python3
"""Set up and run Opportunity Engine with nothing but python3.

    python3 dev.py demo   # create .venv, install, migrate, load the demo study, serve on :8000
                          # (PORT=8001 python3 dev.py demo serves on another port)
    python3 dev.py test   # install the test tools (and Chromium), lint, run the whole suite

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
CHROMIUM = Path("/usr/bin/chromium")
POSTGRES_TEST_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgres://root@127.0.0.1:5432/opportunity_engine"
)
# What mypy checks (its config is [tool.mypy] in pyproject.toml; tests and migrations excluded).
MYPY_PATHS = ("config", "workspaces", "jtbd", "surveys", "analysis", "dev.py", "manage.py")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def ensure_venv(extra: str) -> None:
    """Create .venv and install the project; skipped when pyproject.toml is unchanged."""
    if not PY.exists():
        say("Creating the virtual environment in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{extra or 'base'}-{digest}"
    # The test tools are installed on top of the project, so a test install serves the demo too.
    if stamp.exists() or (not extra and (VENV / f".installed-dev-{digest}").exists()):
        return
    say("Installing Opportunity Engine and its dependencies (first run takes a few minutes)")
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extra}]" if extra else "."
    run(PY, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.touch()


def base_env(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env.update(overrides)
    return env


def serve(args: list[str | Path], env: dict[str, str]) -> int:
    """Run the web server until it exits or dev.py is asked to stop.

    The server runs in its own process group; Ctrl+C, SIGTERM and a closed terminal stop the
    whole group (runserver's autoreloader runs the server in a second process), so nothing is
    left holding the port after dev.py has gone."""
    proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, env=env, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, stop)
    code = proc.wait()
    try:  # the group may still hold the reloader's child: give it a moment, then insist
        os.killpg(proc.pid, signal.SIGTERM)
        for _ in range(50):
            os.killpg(proc.pid, 0)
            time.sleep(0.1)
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return code


def demo() -> None:
    ensure_venv("")
    env = base_env(DEBUG=os.environ.get("DEBUG", "1"))
    port = os.environ.get("PORT", "8000")
    say("Migrating the database (SQLite file db.sqlite3 unless DATABASE_URL is set)")
    run(PY, "manage.py", "migrate", "--noinput", "-v", "0", env=env)
    say("Loading the demo study (safe to repeat: nothing is duplicated)")
    run(PY, "manage.py", "seed_demo", env=env)
    print(
        "\n"
        f"  Opportunity Engine is starting at http://127.0.0.1:{port}\n"
        "\n"
        "  Sign in as   demo / demo-password        (owner)\n"
        "          or   researcher / demo-password  (researcher: writes the catalogue)\n"
        "          or   strategist / demo-password  (viewer: reads, cannot change anything)\n"
        "\n"
        f"  Pages:  http://127.0.0.1:{port}/jobs/        the jobs and their job maps\n"
        f"          http://127.0.0.1:{port}/surveys/     the demo survey, results, fieldwork\n"
        f"          http://127.0.0.1:{port}/api/docs/    the REST API (Swagger UI)\n"
        f"          http://127.0.0.1:{port}/admin/       Django admin (sign in as demo)\n"
        "\n"
        "  Stop with Ctrl+C.\n",
        flush=True,
    )
    sys.exit(serve([PY, "manage.py", "runserver", f"127.0.0.1:{port}"], env))


def ensure_chromium() -> bool:
    if CHROMIUM.exists():
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say("Chromium is missing and cannot be installed without root: browser tests will fail")
        return False
    say("Installing Debian's chromium for the browser tests")
    run("apt-get", "update", "-qq", check=False)
    env = base_env(DEBIAN_FRONTEND="noninteractive")
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium", env=env)
    return CHROMIUM.exists()


def ensure_axe() -> None:
    """axe-core (from npm) is injected into pages by the accessibility tests."""
    if (ROOT / "node_modules" / "axe-core" / "axe.min.js").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            say("Installing Debian's npm for axe-core")
            run(
                "apt-get",
                "install",
                "-y",
                "-qq",
                "--no-install-recommends",
                "npm",
                env=base_env(DEBIAN_FRONTEND="noninteractive"),
            )
            npm = shutil.which("npm")
        if npm is None:
            say("npm is missing: the accessibility checks will fail")
            return
    say("Installing axe-core from npm for the accessibility checks")
    run(npm, "ci", "--no-audit", "--no-fund", "--silent")


def postgres_reachable(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False


def test() -> None:
    ensure_venv("dev")
    ensure_chromium()
    ensure_axe()
    say("ruff")
    run(PY, "-m", "ruff", "check", ".")
    run(PY, "-m", "ruff", "format", "--check", ".")
    env = base_env(SECRET_KEY="test-only-secret-key", DEBUG="0", STATIC_MANIFEST="0")
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    say("mypy")  # the Django plugin loads the settings, hence the same env as the checks
    run(PY, "-m", "mypy", *MYPY_PATHS, env=env)
    say("Django system checks and migrations are in step with the models")
    run(PY, "manage.py", "check", env=env)
    run(PY, "manage.py", "makemigrations", "--check", "--dry-run", env=env)
    pytest_args = sys.argv[2:]
    # The slowest tests are printed after each pass, so a slow newcomer is seen in CI's log.
    slowest = "--durations=15"
    passes = [
        (
            "SQLite, tasks in-process (unit, API, pages, commands, browser), coverage",
            ["--cov", "--cov-report=term:skip-covered"],
            env,
        )
    ]
    if postgres_reachable(POSTGRES_TEST_URL):
        # Tests that touch no database have run once already (see tests/conftest.py).
        pg_env = dict(env, DATABASE_URL=POSTGRES_TEST_URL, TEST_DATABASE_ONLY="1")
        passes.append(
            (
                f"PostgreSQL ({POSTGRES_TEST_URL}), database tests, browser tests excluded",
                # The SQLite pass keeps pytest's cache (last failures); two writers would race.
                ["-m", "not e2e", "-p", "no:cacheprovider"],
                pg_env,
            )
        )
    elif os.environ.get("CI"):
        say(f"PostgreSQL is not reachable at {POSTGRES_TEST_URL}; CI requires it")
        sys.exit(1)
    else:
        say(f"PostgreSQL is not reachable at {POSTGRES_TEST_URL}: skipped the PostgreSQL pass")
    sys.exit(run_passes([(name, [slowest, *args, *pytest_args], e) for name, args, e in passes]))


def run_passes(passes: list[tuple[str, list[str], dict[str, str]]]) -> int:
    """Run the test passes side by side, one core each; the first prints as it goes, the others
    are printed whole when they finish. Returns the first failing pass's exit code, else 0."""
    codes = []
    with contextlib.ExitStack() as stack:
        procs = []
        for index, (name, args, env) in enumerate(passes):
            say(f"Test suite on {name}")
            log = None if index == 0 else stack.enter_context(tempfile.TemporaryFile())
            cmd = [str(PY), "-m", "pytest", *args]
            proc = stack.enter_context(
                subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)
            )
            procs.append((name, proc, log))
        for name, proc, log in procs:
            code = proc.wait()
            if log is not None:
                say(f"Test suite on {name}: its output")
                log.seek(0)
                sys.stdout.flush()
                shutil.copyfileobj(log, sys.stdout.buffer)
                sys.stdout.buffer.flush()
            say(f"Test suite on {name}: {'passed' if code == 0 else f'FAILED (exit {code})'}")
            codes.append(code)
    return next((code for code in codes if code != 0), 0)


COMMANDS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__)
        sys.exit(2)
    COMMANDS[sys.argv[1]]()
