"""`pip install .` (not editable, as the README's production stack and the Dockerfile run it)
installs every application module: each app, its migrations, commands and template tags."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
APPS = ["config", "workspaces", "jtbd", "surveys", "analysis"]


def _source_modules() -> set[str]:
    modules = set()
    for app in APPS:
        for path in (PROJECT / app).rglob("*.py"):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(PROJECT).with_suffix("").parts
            modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return modules


def test_a_non_editable_install_holds_every_application_module(tmp_path):
    # A copy of what the Dockerfile copies: building in the checkout would leave build/ there.
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(PROJECT / name, source / name)
    for app in APPS:
        shutil.copytree(PROJECT / app, source / app, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target)]
    subprocess.run([*pip, str(source)], check=True, cwd=tmp_path, capture_output=True)
    installed = set()
    for path in target.rglob("*.py"):
        parts = path.relative_to(target).with_suffix("").parts
        if parts[0] in APPS:
            installed.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    assert _source_modules() - installed == set()

    # The installed copy alone (outside the checkout) loads every app and knows every migration.
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    env.pop("REDIS_URL", None)
    plan = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--plan"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert plan.returncode == 0, plan.stderr
    for app in ("workspaces", "jtbd", "surveys", "analysis"):
        assert f"{app}.0001_initial" in plan.stdout
    located = subprocess.run(
        [sys.executable, "-c", "import workspaces; print(workspaces.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert located.stdout.strip().startswith(str(target))
