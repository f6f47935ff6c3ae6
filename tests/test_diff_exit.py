"""``ecrm diff``'s exit status through the real CLI: 0 / 1 / 2 by default, terraform's mapping with
``--detailed-exitcode`` (0 no changes, 1 error, 2 changes)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "golden" / "diff"
ROOT = Path(__file__).resolve().parent.parent


def ecrm(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "diff", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("case", "args", "standard", "detailed"),
    [
        ("f2_release", ("before", "after"), 1, 2),  # changes
        ("same_meaning", ("before", "after"), 0, 0),  # no change in meaning
        ("f2_release", ("before", "no-such-revision"), 2, 1),  # neither a path nor a revision
        ("f2_release", ("before", "after", "--format", "yaml"), 2, 1),  # click's own usage error
        ("f2_release", ("before", "after", "--now", "yesterday", "--store", "x.db"), 2, 1),
    ],
)
def test_exit_status_both_ways(case: str, args: tuple[str, ...], standard: int, detailed: int) -> None:
    plain = ecrm(GOLDEN / case, *args)
    assert plain.returncode == standard, plain.stderr
    mapped = ecrm(GOLDEN / case, *args, "--detailed-exitcode")
    assert mapped.returncode == detailed, mapped.stderr
    assert mapped.stdout == plain.stdout and mapped.stderr == plain.stderr  # only the number differs
    assert "Traceback" not in plain.stderr + mapped.stderr


def test_project_with_errors_is_an_error_in_both_mappings(tmp_path: Path) -> None:
    shutil.copytree(GOLDEN / "onboarding_flow" / "after", tmp_path / "broken")
    scenario = tmp_path / "broken" / "scenarios" / "onboarding.ecrm"
    scenario.write_text(scenario.read_text("utf-8").replace("customer.persona is not null", "customer.persnoa == 1"))
    before = str(GOLDEN / "onboarding_flow" / "before")
    assert ecrm(tmp_path, before, "broken").returncode == 2
    result = ecrm(tmp_path, before, "broken", "--detailed-exitcode")
    assert result.returncode == 1 and "[E204 unknown-attribute]" in result.stderr
