"""``ecrm run``'s log for a person at a terminal (the shop's time, one line a tick, per scenario with -v), and
the same text and JSON as before for pipes and services."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ecrm_dsl.cli.run_log import TickLog
from tests.pty_cli import run_ecrm, run_piped

EMAIL = "yamada@example.com"
NAME = "山田花子"


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """The starter project deployed, with one first-time buyer (who enters the F2 step mail at the next tick)."""
    root = tmp_path / "shop"
    assert run_piped("init", str(root), cwd=tmp_path).returncode == 0
    (root / "c.csv").write_text(
        f"id,name,email,email_opt_in,signed_up_at\nc1,{NAME},{EMAIL},true,2025-02-01T10:00+09:00\n", encoding="utf-8"
    )
    (root / "o.csv").write_text("id,customer_id,ordered_at,amount\no1,c1,2025-03-01T12:00+09:00,3000\n")
    for args in (
        ("deploy", "--now", "2025-03-01T09:00+09:00"),
        ("import", "customers", "c.csv"),
        ("import", "orders", "o.csv"),
    ):
        done = run_piped(*args, cwd=root)
        assert done.returncode == 0, done.stderr
    return root


def run_once(shop: Path, now: str, *extra: str) -> tuple[int, bytes]:
    done = run_piped("run", "--once", "--now", now, "--file-outbox", "out", *extra, cwd=shop)
    return done.returncode, done.stdout


def test_human_lines_in_the_shops_time_with_each_scenario_on_verbose(shop: Path) -> None:
    # The tick time given in UTC is shown in the shop's timezone (the deployed plan's, Asia/Tokyo).
    assert run_once(shop, "2025-03-01T04:00Z", "--log-format", "human", "-v") == (
        0,
        "2025-03-01 13:00:00 JST  entered 1 · sent 0 · skipped 0 · failed 0\n  f2_step_mail: entered 1\n".encode(),
    )
    code, out = run_once(shop, "2025-03-02T10:00+09:00", "--log-format", "human", "-v")
    assert code == 0
    assert (
        out
        == (
            "2025-03-02 10:00:00 JST  entered 0 · sent 1 · skipped 0 · failed 0\n"
            "  f2_step_mail: entered 0\n  email: delivered 1\n"
        ).encode()
    )
    assert EMAIL.encode() not in out and NAME.encode() not in out
    code, quiet = run_once(shop, "2025-03-02T11:00+09:00", "--log-format", "human")
    assert quiet == "2025-03-02 11:00:00 JST  entered 0 · sent 0 · skipped 0 · failed 0\n".encode()


def test_auto_is_human_on_a_terminal_and_the_usual_text_in_a_pipe(shop: Path) -> None:
    code, piped = run_once(shop, "2025-03-01T13:00+09:00")
    assert code == 0
    assert piped == (
        b"2025-03-01T13:00:00+09:00 tick: entered 1 (f2_step_mail 1); sent 0, skipped 0, deferred 0; "
        b"deliveries: delivered 0, retrying 0, failed 0\n"
    )
    shown = run_ecrm("run", "--once", "--now", "2025-03-02T10:00+09:00", "--file-outbox", "out", cwd=shop)
    assert shown.code == 0
    assert shown.terminal == (
        "\x1b[2m2025-03-02 10:00:00 JST\x1b[0m  entered 0 · sent 1 · skipped 0 · failed 0\r\n".encode()
    )


def test_a_human_line_names_delivery_problems_and_a_tick_left_to_another_worker() -> None:
    now = datetime(2025, 3, 2, 1, 0, tzinfo=UTC)
    failing = TickLog(
        now,
        {"f2_step_mail": 2},
        {"sent": 2},
        {"delivered": 0, "retrying": 1, "delivery_failed": 1},
        {},
        {("email", "transient", "the SMTP server refused"): 1, ("line", "permanent", "blocked"): 1},
    )
    assert failing.human(ZoneInfo("Asia/Tokyo")) == (
        "2025-03-02 10:00:00 JST  entered 2 · sent 2 · skipped 0 · failed 1 · retrying 1\n"
        "  email: 1 will be retried: the SMTP server refused\n"
        "  line: 1 failed for good: blocked"
    )
    elsewhere = TickLog(now, {}, {}, {"delivered": 3}, {"email": 3}, {}, ticker="worker-b")
    assert elsewhere.human(ZoneInfo("UTC"), verbose=True) == (
        "2025-03-02 01:00:00 UTC  left to worker-b, which holds the tick lease; delivered 3 · failed 0\n"
        "  email: delivered 3"
    )
