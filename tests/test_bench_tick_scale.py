"""benchmarks/tick_scale.py at a small size: --json holds every tick's CPU time and statement count, and the
steady tick against the incremental hand-written minimum (whose answers the script checks against ecrm's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "tick_scale.py"


def test_small_run_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "ticks.json"
    done = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--sizes", "600", "--day-ticks", "1", "--repeat", "1", "--check-customers", "30"),
            *("--tmp", str(tmp_path), "--json", str(out)),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["benchmark"] == "tick_scale" and figures["bulk_check_rows"] > 0
    (size,) = figures["sizes"]
    assert size["customers"] == 600
    for key in ("first", "cron", "steady"):
        tick = size["ticks"][key]
        assert tick["statements"] > 0 and tick["cpu_s"] > 0
    assert size["ticks"]["cron"]["entered"] > 0  # the newsletter's audience
    assert size["day_mean_statements"] == size["ticks"]["day"][0]["statements"]
    assert set(size["entry_ratios"]) == {
        "dormant_150",
        "loyal_customers",
        "newsletter_readers",
        "skincare_without_lotion",
    }
    inc = size["incremental"]
    assert set(inc["members"]) == {"dormancy_signs", "dormant_150", "loyal_customers"}
    assert inc["checked_customers"] > inc["changed_customers"] >= 0
    assert inc["steady_statements"] == size["ticks"]["steady"]["statements"]
    assert inc["best_cpu_s"] == min(inc["cpu_s"]) > 0
    assert inc["ratio_steady_to_minimum"] == pytest.approx(inc["steady_cpu_s"] / inc["best_cpu_s"])
    assert f"{inc['ratio_steady_to_minimum']:,.0f}x" in done.stdout
    hour = size["hour"]
    assert list(hour["rows"]) == [
        "segment re-check",
        "entries",
        "goals and stops",
        "sends",
        "journal",
        "steps moved on",
        "watermarks",
    ]
    assert hour["rows"]["watermarks"] > 0  # every scenario the ticks looked at has its watermark set
    assert hour["rows"]["sends"] == hour["rows"]["journal"] == hour["rows"]["steps moved on"]
    assert hour["best_cpu_s"] == min(hour["cpu_s"]) > 0
    assert hour["ratio_steady_to_hour"] == pytest.approx(hour["steady_cpu_s"] / hour["best_cpu_s"])
    assert f"ratio {hour['ratio_steady_to_hour']:,.1f}x" in done.stdout
    # Run again on the store as it found it: the same decisions, and the best of the runs is the warm figure.
    warm, steady = size["ticks"]["steady_warm"], size["ticks"]["steady"]
    assert (warm["entered"], warm["decisions"], warm["statements"]) == (
        steady["entered"],
        steady["decisions"],
        steady["statements"],
    )
    assert len(warm["cpu_runs"]) == 3 and warm["cpu_s"] == min(warm["cpu_runs"]) > 0
    assert hour["ratio_warm_steady_to_hour"] == pytest.approx(warm["cpu_s"] / hour["best_cpu_s"])
    assert f"ratio {hour['ratio_warm_steady_to_hour']:,.1f}x" in done.stdout
    assert not list(tmp_path.rglob("*.before-steady.db"))  # the copy it ran on is gone
