"""benchmarks/demo_cpu.py for two simulated days: it runs the example project's demo in process, and its JSON
holds the demo's CPU time and every tick's CPU time, statements and database time, which add up to the summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "demo_cpu.py"


def test_two_days_report_every_tick(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--days", "2", "--repeat", "1", "--json", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    ticks, best = figures["ticks"], figures["best"]
    assert figures["scenarios"] == 14 and len(ticks) == best["ticks"] == 2 * 24 + 1  # hourly, both ends included
    assert best["statements"] == sum(t["statements"] for t in ticks) > 0
    assert all(0 <= t["database_s"] <= t["cpu_s"] for t in ticks)
    assert 0 < best["ticks_cpu_s"] < best["demo_cpu_s"] == figures["runs_demo_cpu_s"][0]
    quiet = [t for t in ticks if not t["entered"] and not t["decisions"]]
    assert best["quiet_ticks"] == len(quiet)
    assert "demo CPU (best of 1)" in done.stdout and "statements a tick" in done.stdout
