"""Without PostgreSQL's server binaries the PostgreSQL cases skip with the reason, except in CI, where they fail.

A pytest run in a subprocess, with a plugin that makes the binaries unfindable (this machine has them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_without_binaries(tmp_path: Path, *, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "no_pg_binaries.py").write_text("import tests.pg\n\ntests.pg.find_binary = lambda name: None\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(ROOT)])
    if ci:
        env["CI"] = "1"
    command = [sys.executable, "-m", "pytest", "-p", "no_pg_binaries", "-p", "no:cacheprovider", "-rs"]
    command.append("tests/test_outbox_recent.py")
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_locally_the_postgresql_cases_skip_with_the_reason(tmp_path: Path) -> None:
    done = run_without_binaries(tmp_path, ci=False)
    assert done.returncode == 0, done.stdout
    assert "PostgreSQL tests skipped: PostgreSQL server binaries (initdb, pg_ctl) are not installed" in done.stdout
    assert "1 passed, 1 skipped" in done.stdout  # the SQLite case still runs


def test_in_ci_they_fail_instead(tmp_path: Path) -> None:
    done = run_without_binaries(tmp_path, ci=True)
    assert done.returncode == 1
    assert "CI must run the PostgreSQL tests: PostgreSQL server binaries (initdb, pg_ctl)" in done.stdout
    assert "1 passed, 1 error" in done.stdout and "Traceback" not in done.stdout
