"""The runtime commands as a user runs them on a starter project: deploy, run, status, explain."""

from __future__ import annotations

import datetime as dt
import os
import selectors
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from ecrm_dsl.cli import cli
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.runtime import world

JST = dt.timezone(dt.timedelta(hours=9))


def run(project: Path, *args: str) -> tuple[int, str]:
    old = Path.cwd()
    os.chdir(project)
    try:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


@pytest.fixture
def project(tmp_path: Path, world_backend: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A starter project; its store is ecrm.db in it, or on postgresql the database ``$ECRM_STORE`` names."""
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "shop")]).exit_code == 0
    monkeypatch.delenv("ECRM_STORE", raising=False)
    if world_backend == "postgresql":
        monkeypatch.setenv("ECRM_STORE", str(world.new_store(tmp_path)))
    return tmp_path / "shop"


def add_first_order(project: Path) -> None:
    engine = open_store(os.environ.get("ECRM_STORE") or project / "ecrm.db")
    moment = dt.datetime(2025, 3, 1, 9, tzinfo=JST)
    with engine.begin() as conn:
        conn.execute(
            insert(TABLES.customers).values(
                id="c1", name="山田花子", email="h@example.jp", email_opt_in=True, attributes={}
            )
        )
        conn.execute(insert(TABLES.orders).values(id="o1", customer_id="c1", ordered_at=moment, amount=3000))
        conn.execute(
            insert(TABLES.events).values(
                customer_id="c1", type="order.placed", occurred_at=moment, properties={"order_id": "o1", "amount": 3000}
            )
        )


@pytest.fixture(autouse=True)
def deliver_to_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`ecrm run` refuses to start with nothing to deliver through: here messages go to files."""
    monkeypatch.setenv("ECRM_DEMO_OUTBOX", str(tmp_path / "outbox"))


def test_deploy_run_status_explain(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Only package inserts and direct mail can be delivered: the starter project's email has no provider.
    monkeypatch.delenv("ECRM_DEMO_OUTBOX")
    monkeypatch.setenv("ECRM_BATCH_DIR", str(project / "batch"))
    code, out = run(project, "deploy", "--now", "2025-03-01T00:00+09:00", "--note", "first")
    assert code == 0 and out == "deployed #1: 1 scenarios\n"
    add_first_order(project)
    for moment in ("2025-03-01T10:00+09:00", "2025-03-02T10:00+09:00"):
        code, out = run(project, "run", "--once", "--now", moment)
        assert code == 0, out
    assert "warning: the deployed plan sends on email, line, which no delivery setting serves" in out
    assert "sent 1" in out and "deliveries: delivered 0, retrying 0, failed 1" in out
    assert "  email: 1 failed for good: no delivery adapter is configured for email" in out
    code, out = run(project, "status")
    assert code == 0 and "deployment #1" in out and "1  at repeat_coupon  (current" in out
    code, out = run(project, "explain", "c1")
    assert code == 0
    assert "2025-03-01 09:00  f2_step_mail: entered" in out
    assert "2025-03-02 10:00  f2_step_mail thanks_first: sent — email [failed]" in out
    assert "no delivery adapter is configured for email" in out


def test_a_changing_deploy_with_customers_in_flight_is_refused_until_it_says_what_happens(project: Path) -> None:
    run(project, "deploy", "--now", "2025-03-01T00:00+09:00")
    add_first_order(project)
    run(project, "run", "--once", "--now", "2025-03-01T10:00+09:00")
    scenario = project / "scenarios" / "f2_step_mail.ecrm"
    scenario.write_text(
        scenario.read_text(encoding="utf-8").replace("day 7 at 10:00", "day 5 at 10:00"), encoding="utf-8"
    )
    code, out = run(project, "deploy", "--now", "2025-03-01T12:00+09:00")
    assert code == 1 and "refused, nothing changed" in out and "--in-flight keep" in out
    code, out = run(project, "deploy", "--now", "2025-03-01T12:00+09:00", "--in-flight", "retime")
    assert code == 0 and "f2_step_mail: 1 in-flight customers moved to the new version" in out


def test_times_need_an_offset(project: Path) -> None:
    code, out = run(project, "run", "--once", "--now", "2025-03-01T10:00")
    assert code == 2 and "has no timezone" in out


def test_a_tick_before_the_last_one_is_a_usage_error_that_says_when_the_last_tick_was(project: Path) -> None:
    run(project, "deploy", "--now", "2025-03-01T00:00+09:00")
    add_first_order(project)
    assert run(project, "run", "--once", "--now", "2025-03-01T13:00+09:00")[0] == 0
    code, out = run(project, "run", "--once", "--now", "2025-03-01T11:00+09:00")
    assert code == 2, out
    assert out == (
        "ecrm run: the tick time 2025-03-01T11:00:00+09:00 is before the store's last tick, "
        "2025-03-01T13:00:00+09:00; ticks only go forward: give a time at or after the last tick "
        "(re-running the last one is fine)\n"
    )
    code, out = run(project, "run", "--once", "--now", "2025-03-01T03:00Z")  # in another offset
    assert code == 2 and "before the store's last tick, 2025-03-01T04:00:00+00:00;" in out
    assert run(project, "run", "--once", "--now", "2025-03-01T13:00+09:00")[0] == 0  # the same tick again is fine


def test_a_running_loop_whose_clock_is_behind_the_last_tick_waits_instead_of_stopping(project: Path) -> None:
    ahead = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    run(project, "deploy", "--now", "2025-03-01T00:00+09:00")
    assert run(project, "run", "--once", "--now", ahead)[0] == 0  # a tick an hour ahead of the machine's clock
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_") or k == "ECRM_STORE"}
    process = subprocess.Popen(
        [sys.executable, "-m", "ecrm_dsl", "run", "--interval", "1", "--file-outbox", "outbox"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        with selectors.DefaultSelector() as waiting:
            waiting.register(process.stderr, selectors.EVENT_READ)
            assert waiting.select(timeout=30), "ecrm run said nothing within 30 s"
        first = process.stderr.readline()
        assert "is behind the store's last tick" in first and "skipping ticks until it catches up" in first, first
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out == "" and err.rstrip().endswith("ecrm run: stopped")
