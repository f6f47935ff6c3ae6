"""benchmarks/ingest.py at a small size: it runs a real ``ecrm serve``, the second round is all duplicates, the lag
is measured, and the JSON has every figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SCRIPT = REPO / "benchmarks" / "ingest.py"


def test_small_run_is_idempotent_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--events", "1200", "--customers", "100", "--orders", "3", "--json", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text(encoding="utf-8"))
    assert figures["round_1"]["accepted"] == 1200 and figures["round_1"]["rejected"] == 0
    assert figures["round_2"] == {**figures["round_2"], "accepted": 0, "duplicates": 1200, "rejected": 0}
    assert figures["idempotent"] is True and figures["events_stored"] == 1200
    assert figures["customers"]["accepted"] == 100
    lag = figures["lag"]
    assert lag["orders"] == 3 and 0 < lag["median_seconds"] <= lag["max_seconds"] < 30
    assert "events, round 1: 1,200 accepted" in done.stdout and "store unchanged: True" in done.stdout
