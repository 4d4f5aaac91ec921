"""What the logs say about requests: expected refusals in one line, each record once."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db
def test_a_refused_write_is_logged_in_one_line_without_a_traceback(client, viewer, caplog):
    client.force_login(viewer)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/jobs/new/").status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): /jobs/new/"]
    assert records[0].exc_info is None and records[0].exc_text is None


def test_server_errors_keep_their_traceback():
    from config.logs import ClientErrorsWithoutTraceback

    try:
        raise RuntimeError("boom")
    except RuntimeError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "Internal Server Error: /x",
            (),
            sys.exc_info(),
        )
    record.status_code = 500
    assert ClientErrorsWithoutTraceback().filter(record)
    assert record.exc_info is not None


@pytest.mark.parametrize("debug", ["0", "1"])
def test_each_record_is_printed_once_with_debug_on_or_off(debug):
    script = "\n".join(
        [
            "import django, logging",
            "django.setup()",
            "from django.core.exceptions import PermissionDenied",
            "try:",
            "    raise PermissionDenied('no')",
            "except PermissionDenied as exc:",
            "    logging.getLogger('django.request').warning(",
            "        'Forbidden (Permission denied): %s', '/x',",
            "        extra={'status_code': 403}, exc_info=exc)",
        ]
    )
    env = {
        **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "logging-test-key",
        "DEBUG": debug,
    }
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("Forbidden (Permission denied): /x") == 1, out.stderr
    assert "Traceback" not in out.stderr
