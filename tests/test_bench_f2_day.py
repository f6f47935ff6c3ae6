"""benchmarks/f2_day.py at a small size: it runs, ecrm and the cron+SQL baseline make the same sends, the JSON
has every figure, and a baseline that picks other customers makes it fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "f2_day.py"
SMALL = ["--customers", "2000", "--repeat", "1"]


def run_script(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "f2.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *SMALL, "--tmp", str(tmp_path), "--json", str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    return done, json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}


def test_small_day_agrees_and_reports_every_figure(tmp_path: Path) -> None:
    done, figures = run_script(tmp_path)
    assert done.returncode == 0, done.stderr
    assert figures["sends_agree"] is True
    steps = figures["sends_by_step"]
    assert set(steps) == {"f2_welcome_leaflet", "f2_thanks", "f2_howto", "f2_second_order_coupon"}
    assert steps["f2_welcome_leaflet"] == {"insert": steps["f2_welcome_leaflet"]["insert"]}
    assert set(steps["f2_howto"]) <= {"line", "email"}
    assert figures["sends"] == sum(n for channels in steps.values() for n in channels.values()) > 0
    for side in ("ecrm", "cron", "naive"):
        assert len(figures[f"{side}_cpu_s"]) == 1 and figures[f"{side}_cpu_s"][0] > 0
        assert figures["best_cpu_s"][side] == figures[f"{side}_cpu_s"][0]
    ratio = figures["ratios"]["ecrm / cron+SQL"]
    assert ratio == pytest.approx(figures["best_cpu_s"]["ecrm"] / figures["best_cpu_s"]["cron"])
    assert figures["ecrm_statements"] > 0 and figures["customers"] == 2000
    assert any("priority" in note for note in figures["notes"])  # the one change to the policies is stated
    assert f"{ratio:.2f}x" in done.stdout


def test_a_baseline_that_disagrees_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import f2_day
    finally:
        sys.path.remove(str(SCRIPT.parent))
    monkeypatch.setattr(f2_day, "HOLDOUT_PERCENT", 20)  # the baseline's draw no longer matches the scenario's 10%
    out = tmp_path / "f2.json"
    code = f2_day.main([*SMALL, "--no-naive", "--tmp", str(tmp_path), "--json", str(out)])
    assert code == 1
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["sends_agree"] is False
