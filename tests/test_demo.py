"""``ecrm demo`` end to end on a small shop: it runs, delivers, reports, and never overwrites a foreign file."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
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
    assert "ecrm demo: 14 scenarios" in out and "97 ticks" in out
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


def test_demo_customers_open_and_click_what_reached_them(tmp_path: Path) -> None:
    code, out = demo(tmp_path, "--days", "10", "--customers", "300")
    assert code == 0, out
    with sqlite3.connect(tmp_path / "demo.db") as conn:
        sent = {
            (customer, scenario, step, channel): sent_at
            for customer, scenario, step, channel, sent_at in conn.execute(
                "SELECT customer_id, scenario_id, node_id, channel, sent_at FROM outbox WHERE status = 'sent'"
            )
        }
        reactions = [
            (kind, customer, json.loads(props), at)
            for kind, customer, props, at in conn.execute(
                "SELECT type, customer_id, properties, occurred_at FROM events"
                " WHERE type IN ('message.opened', 'message.clicked') ORDER BY id"
            )
        ]
    opens = [r for r in reactions if r[0] == "message.opened"]
    clicks = [r for r in reactions if r[0] == "message.clicked"]
    assert opens and clicks
    for _, customer, props, at in reactions:  # each reaction follows a delivery of that very step
        key = (customer, props["scenario"], props["step"], props["channel"])
        assert key in sent and at > sent[key], key
    opened = {(c, p["scenario"], p["step"], p["channel"]) for _, c, p, _ in opens}
    assert {(c, p["scenario"], p["step"], p["channel"]) for _, c, p, _ in clicks} <= opened
    by_channel = Counter(key[3] for key in sent)
    email_rate = sum(1 for key in opened if key[3] == "email") / by_channel["email"]
    assert 0.2 < email_rate < 0.4  # about the 30% the demo draws
    assert not any(key[3] in ("dm", "insert", "webhook") for key in opened)  # untracked channels
