"""`manage.py check --deploy` passes with the production settings docs/security.md gives, and
fails for each weakened one; no secret is written into the repository.

(That the settings refuse to start with DEBUG off and no SECRET_KEY is tested in
tests/test_settings.py.)
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def deploy_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`check --deploy --fail-level WARNING` in a fresh process whose environment holds only the
    given settings (nothing leaks in from the test run's own environment)."""
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "ALLOWED_HOSTS": "example.org",
        "STATIC_ROOT": str(tmp_path / "staticfiles"),
    }
    (tmp_path / "staticfiles").mkdir(exist_ok=True)
    merged = {k: v for k, v in {**base, **env}.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=merged,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "tls",
    [
        {"BEHIND_TLS_PROXY": "1"},
        {"TRUSTED_PROXY_COUNT": "1"},
        {"SECURE_SSL_REDIRECT": "1"},
        {"BEHIND_TLS_PROXY": "1", "SECURE_SSL_REDIRECT": "1", "HSTS_PRELOAD": "1"},
    ],
    ids=["tls-proxy", "trusted-proxy", "django-redirects", "everything-on"],
)
def test_production_settings_pass_the_deploy_check_without_warnings(tmp_path, tls):
    result = deploy_check(tmp_path, **tls)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS:" not in output and "ERRORS:" not in output, output


@pytest.mark.parametrize(
    ("weakened", "check_id"),
    [
        ({"SECRET_KEY": "short-and-guessable"}, "security.W009"),
        ({"SECRET_KEY": "django-insecure-" + "x" * 60}, "security.W009"),
        ({"DEBUG": "1"}, "security.W018"),
        ({"SECURE_COOKIES": "0"}, "security.W012"),
        ({"HSTS_SECONDS": "0"}, "security.W004"),
        ({"HSTS_INCLUDE_SUBDOMAINS": "0"}, "security.W005"),
        ({"BEHIND_TLS_PROXY": None}, "security.W008"),  # nobody redirects plain HTTP
    ],
    ids=[
        "weak-secret-key",
        "django-insecure-key",
        "debug-on",
        "cookies-not-secure",
        "no-hsts",
        "hsts-without-subdomains",
        "no-https-redirect",
    ],
)
def test_each_weakened_setting_fails_the_deploy_check(tmp_path, weakened, check_id):
    result = deploy_check(tmp_path, **{"BEHIND_TLS_PROXY": "1", **weakened})
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


# --- no secrets in the repository -------------------------------------------------------------

# NAME = "literal", NAME: "literal", NAME="literal" (keyword arguments), TOML's
# NAME = { value = "literal" } and YAML's unquoted NAME: literal, for names that hold secrets.
SECRET_NAME = r"[\w.-]*(?:secret|password|passwd|api_?key|private_?key|token)[\w.-]*"
QUOTED = re.compile(
    rf"""(?ix)(?P<name>{SECRET_NAME})['"]?\s*[:=]\s*(?:\{{\s*value\s*=\s*)?
    (?P<prefix>[rbu]?)(?P<quote>['"])(?P<value>[^'"\n]+)(?P=quote)"""
)
# A literal default for a secret read from the environment: os.environ.setdefault("SECRET_KEY",
# "…"), os.getenv(…, "…"), env_str(…, "…").
DEFAULTED = re.compile(
    rf"""(?ix)(?:setdefault|getenv|get|env_str)\(\s*['"](?P<name>{SECRET_NAME})['"]\s*,\s*
    (?P<prefix>[rbu]?)(?P<quote>['"])(?P<value>[^'"\n]+)(?P=quote)"""
)
YAML_PLAIN = re.compile(rf"(?im)^\s*(?P<name>{SECRET_NAME})\s*:\s+(?P<value>[^\s'\"#{{][^#\n]*)$")
# The only literal keys outside tests/: the development key settings use with DEBUG on, the
# test suite's throwaway key (pytest-env, and dev.py's test command), and the demo users'
# documented password (seed_demo gives it only with DEBUG on or --known-passwords).
KNOWN = {
    ("config/settings.py", "dev-only-insecure-key-never-use-in-production"),
    ("analysis/management/commands/seed_demo.py", "demo-password"),
    ("pyproject.toml", "test-only-secret-key"),
    ("dev.py", "test-only-secret-key"),
}


def tracked_files() -> list[str]:
    result = subprocess.run(
        ["git", "ls-files", "*.py", "*.toml", "*.yml", "*.yaml", "*.cfg"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [name for name in result.stdout.splitlines() if name]


def secret_literals(path: str, text: str) -> list[tuple[str, str, str]]:
    """(path, name, value) of every literal given to a secret-looking name."""
    # f-strings do not match (no f among the prefixes): they interpolate, they hold no literal.
    found = [
        (path, m.group("name"), m.group("value"))
        for pattern in (QUOTED, DEFAULTED)
        for m in pattern.finditer(text)
    ]
    if path.endswith((".yml", ".yaml")):
        for match in YAML_PLAIN.finditer(text):
            value = match.group("value").strip()
            if not value.startswith("$"):  # ${VARIABLE} comes from the environment
                found.append((path, match.group("name"), value))
    return found


def test_no_secret_is_hard_coded_in_the_repository():
    files = tracked_files()
    assert "config/settings.py" in files
    literals = []
    for path in files:
        text = (PROJECT / path).read_text(encoding="utf-8", errors="replace")
        literals += secret_literals(path, text)
    outside_tests = {
        (path, value) for path, _name, value in literals if not path.startswith("tests/")
    }
    assert outside_tests <= KNOWN, sorted(outside_tests - KNOWN)
    # The scan sees the known keys, so it would see a new one.
    assert ("config/settings.py", "dev-only-insecure-key-never-use-in-production") in outside_tests
    assert ("pyproject.toml", "test-only-secret-key") in outside_tests


@pytest.mark.parametrize(
    "line",
    [
        'SECRET_KEY = "k3y-that-someone-pasted-in"',
        "AWS_SECRET_ACCESS_KEY='abc123'",
        'password="hunter2"',
        '"EMAIL_HOST_PASSWORD": "hunter2",',
        'API_KEY = { value = "abc" }',
    ],
)
def test_the_scan_recognises_a_hard_coded_secret(line):
    assert secret_literals("config/example.py", line)


def test_the_scan_recognises_a_plain_yaml_secret_but_not_an_environment_reference():
    assert secret_literals("compose.yml", "    POSTGRES_PASSWORD: hunter2\n")
    assert not secret_literals("compose.yml", "    SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY}\n")
