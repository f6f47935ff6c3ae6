"""mypy (configured in pyproject.toml) over the whole package: no type errors anywhere."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed (the [test] extra)")
def test_the_package_has_no_type_errors() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "error: " in done.stdout or done.returncode == 0, done.stdout + done.stderr  # it ran
    errors = [line for line in done.stdout.splitlines() if re.match(r"^[^:]+:\d+: error:", line)]
    assert errors == []
