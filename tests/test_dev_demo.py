"""`python3 dev.py demo`, the README's first command: it serves the demo and, when stopped by
a signal (not only Ctrl+C), leaves nothing running on its port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _server_pids(port: int) -> list[int]:
    """Processes whose command line is the demo's runserver on `port` (the reloader's two)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"runserver" in cmdline and f"127.0.0.1:{port}".encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def test_stopping_the_demo_with_sigterm_stops_its_server(tmp_path):
    # SIGTERM is what a process manager or `kill` sends; Ctrl+C (SIGINT) takes the same path.
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SECRET_KEY")},
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "PORT": str(port),
        "DEBUG": "1",
    }
    log = (tmp_path / "demo.log").open("wb")
    demo = subprocess.Popen(
        [sys.executable, "dev.py", "demo"], cwd=PROJECT, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()
                time.sleep(0.5)
        assert len(_server_pids(port)) == 2  # runserver's reloader and the server it watches

        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=20)

        deadline = time.monotonic() + 10
        while (_listening(port) or _server_pids(port)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port), "the demo server still answers after dev.py stopped"
        assert _server_pids(port) == []
    finally:
        demo.kill()
        for pid in _server_pids(port):
            os.kill(pid, signal.SIGKILL)
        log.close()
