"""Settings come from the environment and refuse bad values at start; the API documents itself
without loading anything from a CDN."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent
# Every variable config.settings reads; each case starts from none of them set.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DB_CONN_MAX_AGE",
    "DB_PREPARED_STATEMENTS",
    "UPLOAD_MAX_BYTES",
    "SECURE_COOKIES",
    "LOG_LEVEL",
)
GOOD = {"SECRET_KEY": "a-test-key", "DEBUG": "0"}


def start(**overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    for name, value in {**GOOD, **overrides}.items():
        if value is not None:
            env[name] = value
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def error_line(result: subprocess.CompletedProcess) -> str:
    """The exception line of the traceback: what the operator reads first."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def test_a_good_environment_starts():
    result = start()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


def test_postgres_and_redis_urls_are_accepted():
    result = start(
        DATABASE_URL="postgres://user@127.0.0.1:5432/opportunity_engine",
        REDIS_URL="redis://127.0.0.1:6379/0",
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("value", "threshold"), [(None, "0"), ("1", "0"), ("0", "absent")])
def test_prepared_statements_are_on_for_postgresql_unless_turned_off(value, threshold):
    script = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.DATABASES['default'].get('OPTIONS', {}).get('prepare_threshold', 'absent'))"
    )
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(
        GOOD,
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://user@127.0.0.1:5432/opportunity_engine",
    )
    if value is not None:
        env["DB_PREPARED_STATEMENTS"] = value
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == threshold
    # SQLite has no such option.
    sqlite = start(DB_PREPARED_STATEMENTS="1")
    assert sqlite.returncode == 0, sqlite.stderr


@pytest.mark.parametrize(
    ("overrides", "names"),
    [
        ({"DEBUG": "maybe"}, ("DEBUG", "maybe")),
        ({"DATABASE_URL": "mysql://x"}, ("DATABASE_URL", "mysql://x")),
        ({"DATABASE_URL": "nonsense"}, ("DATABASE_URL", "nonsense")),
        ({"REDIS_URL": "http://x"}, ("REDIS_URL", "http://x")),
        ({"SECRET_KEY": None, "DEBUG": "0"}, ("SECRET_KEY",)),
        ({"SECRET_KEY": None, "DEBUG": None}, ("SECRET_KEY",)),
        ({"DB_CONN_MAX_AGE": "forever"}, ("DB_CONN_MAX_AGE", "forever")),
        ({"DB_PREPARED_STATEMENTS": "sometimes"}, ("DB_PREPARED_STATEMENTS", "sometimes")),
        ({"UPLOAD_MAX_BYTES": "10"}, ("UPLOAD_MAX_BYTES",)),
        ({"ALLOWED_HOSTS": " , "}, ("ALLOWED_HOSTS",)),
        ({"SECURE_COOKIES": "perhaps"}, ("SECURE_COOKIES", "perhaps")),
        ({"PUBLIC_SUBMISSION_PATH": "faster"}, ("PUBLIC_SUBMISSION_PATH", "faster")),
    ],
    ids=[
        "debug-not-boolean",
        "mysql-database",
        "nonsense-database",
        "http-redis",
        "no-secret-key",
        "no-secret-key-debug-unset",
        "conn-max-age-not-int",
        "prepared-statements-not-boolean",
        "upload-limit-too-small",
        "allowed-hosts-empty",
        "secure-cookies-not-boolean",
        "unknown-submission-path",
    ],
)
def test_a_bad_setting_stops_the_start_naming_the_variable(overrides, names):
    result = start(**overrides)
    assert result.returncode != 0
    line = error_line(result)
    assert line.startswith("django.core.exceptions.ImproperlyConfigured:"), result.stderr
    for name in names:
        assert name in line, line


def test_debug_without_a_secret_key_starts_with_the_development_key():
    result = start(SECRET_KEY=None, DEBUG="1")
    assert result.returncode == 0, result.stderr


# --- API schema and docs ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_schema_lists_the_catalogue_paths(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = set(response.json()["paths"])
    assert {
        "/api/workspaces/",
        "/api/jobs/",
        "/api/jobs/{id}/",
        "/api/jobs/import/",
        "/api/jobs/{id}/export/json/",
        "/api/jobs/{id}/export/csv/",
        "/api/jobs/{id}/import-csv/",
        "/api/jobs/{id}/reorder-steps/",
        "/api/steps/",
        "/api/steps/{id}/move/",
        "/api/outcomes/",
        "/api/outcomes/{id}/",
        "/api/outcomes/{id}/approve/",
        "/api/outcomes/{id}/move/",
        "/api/statement-check/",
    } <= paths
    yaml = client.get("/api/schema/")
    assert yaml.status_code == 200
    assert "/api/statement-check/" in yaml.content.decode()


@pytest.mark.django_db
def test_the_api_docs_load_nothing_from_a_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode().lower()
    for host in ("cdn", "jsdelivr", "unpkg", "cloudflare", "googleapis"):
        assert host not in html, host
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/api/schema/" in html
