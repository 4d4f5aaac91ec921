from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import importlib, pkgutil, sys
import analysis.core
for mod in pkgutil.iter_modules(analysis.core.__path__):
    importlib.import_module("analysis.core." + mod.name)
loaded = sorted(m for m in sys.modules if m == "django" or m.startswith("django."))
print(len([m for m in sys.modules if m.startswith("analysis.core.")]))
sys.exit(1 if loaded else 0)
"""


def test_importing_the_core_and_all_its_modules_loads_no_django():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert int(result.stdout.strip()) >= 7  # every module really was imported
