"""``ecrm demo`` end to end on a small shop: it runs, delivers, reports, and never overwrites a foreign file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ecrm_dsl.cli import cli

ROOT = Path(__file__).parent.parent


def demo(tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(ROOT / "pyproject.toml"),
            "demo",
            "--customers",
            "150",
            "--days",
            "4",
            "--store",
            str(tmp_path / "demo.db"),
            "--outbox",
            str(tmp_path / "outbox"),
            *extra,
        ],
        catch_exceptions=False,
    )
    return result.exit_code, result.output


def test_the_demo_runs_the_example_scenarios_and_reports(tmp_path: Path) -> None:
    code, out = demo(tmp_path)
    assert code == 0, out
    assert "ecrm demo: 13 scenarios" in out and "97 ticks" in out
    assert "f2_step_mail" in out and "monthly_newsletter" in out
    assert "— times in Asia/Tokyo" in out  # the sample timelines
    lines = [
        json.loads(line)
        for path in (tmp_path / "outbox").glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) > 50
    assert len({line["idempotency_key"] for line in lines}) == len(lines)  # nothing delivered twice
    assert not any("@example.jp" in json.dumps(line, ensure_ascii=False) for line in lines)  # redacted
    code, out = demo(tmp_path)  # a second run replaces its own store
    assert code == 0, out


def test_the_demo_never_overwrites_a_store_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "demo.db"
    precious.write_bytes(b"not a demo store")
    code, out = demo(tmp_path)
    assert code == 1 and "is not a demo store" in out
    assert precious.read_bytes() == b"not a demo store"
