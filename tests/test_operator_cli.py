"""No surprises for the operator, through the real ``ecrm`` command in a fresh process each time.

A store that does not exist is an error (and is not created), ``ecrm run`` refuses to start with nothing to
deliver through, its tick lines are readable (or JSON), ``ecrm status`` shows the last tick, the lag and the
outbox backlog, and ``ecrm report`` does not count a message that failed to deliver as sent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.test_delivery_support import Inbox, closed_port, http_server, json_reply, smtp_server

JST = dt.timezone(dt.timedelta(hours=9))
DEPLOYED = "2025-03-01T00:00+09:00"
NAME, EMAIL = "山田花子", "hanako@example.jp"


def ecrm(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``ecrm ARGS`` in a new interpreter, with no ECRM_* variable from the caller's environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
    return subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", *args],
        cwd=cwd,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert ecrm(tmp_path, "init", "shop").returncode == 0
    return tmp_path / "shop"


def deployed_with_a_first_order(project: Path) -> Path:
    """The starter project deployed, and one customer's first order (the F2 step mail's entry)."""
    done = ecrm(project, "deploy", "--now", DEPLOYED)
    assert done.returncode == 0, done.stderr
    store = project / "ecrm.db"
    moment = dt.datetime(2025, 3, 1, 9, tzinfo=JST)
    with open_store(store).begin() as conn:
        conn.execute(
            insert(TABLES.customers).values(
                id="c1",
                name=NAME,
                email=EMAIL,
                email_opt_in=True,
                line_user_id="U0123456789abcdef0123456789abcdef",
                line_opt_in=True,
                attributes={},
            )
        )
        conn.execute(insert(TABLES.orders).values(id="o1", customer_id="c1", ordered_at=moment, amount=3000))
        conn.execute(
            insert(TABLES.events).values(
                customer_id="c1", type="order.placed", occurred_at=moment, properties={"order_id": "o1", "amount": 3000}
            )
        )
    return store


# --------------------------------------------------------------------------- a store that does not exist


READERS = {
    "status": ["status"],
    "explain": ["explain", "c1"],
    "run": ["run", "--once", "--file-outbox", "outbox"],
    "report": ["report"],
    "simulate": ["simulate", "--from", "2025-03-01", "--to", "2025-03-02"],
}


@pytest.mark.parametrize("command", sorted(READERS))
def test_a_store_that_does_not_exist_is_refused_and_not_created(project: Path, command: str) -> None:
    typo = project / "typo.db"
    done = ecrm(project, *READERS[command], "--store", str(typo))
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"ecrm {command}: the store {typo} does not exist (nothing was created); create it with `ecrm deploy` "
        "(deploys the project) or `ecrm import KIND FILE` (loads a CSV), or give the existing store with "
        "--store PATH|URL or $ECRM_STORE\n"
    )
    assert done.stdout == ""
    assert sorted(p.name for p in project.iterdir() if p.name.startswith(("typo", "ecrm.db"))) == []


def test_the_default_store_and_ecrm_store_are_checked_the_same_way(project: Path) -> None:
    default = ecrm(project, "status")
    assert default.returncode == 2 and f"the store {project / 'ecrm.db'} does not exist" in default.stderr
    from_env = ecrm(project, "report", env={"ECRM_STORE": "elsewhere.db"})
    assert from_env.returncode == 2 and "the store elsewhere.db does not exist" in from_env.stderr
    assert not (project / "ecrm.db").exists() and not (project / "elsewhere.db").exists()
    folder = ecrm(project, "status", "--store", "scenarios")
    assert folder.returncode == 2 and "the store scenarios is a folder, not a store file" in folder.stderr


def test_a_file_that_is_not_a_store_is_refused_and_left_as_it_was(project: Path) -> None:
    notes = project / "notes.db"
    notes.write_bytes(b"not a database at all\n")
    done = ecrm(project, "status", "--store", str(notes))
    assert done.returncode == 2 and done.stderr.startswith(f"ecrm status: cannot open the store {notes}: ")
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert notes.read_bytes() == b"not a database at all\n"
    empty = project / "empty.db"
    empty.touch()
    done = ecrm(project, "explain", "c1", "--store", str(empty))
    assert done.returncode == 2 and f"{empty} is not an ecrm store (it has none of ecrm's tables)" in done.stderr
    assert empty.read_bytes() == b""


def test_deploy_and_import_create_the_store(project: Path, tmp_path: Path) -> None:
    assert ecrm(project, "deploy", "--store", "new.db").returncode == 0
    assert (project / "new.db").is_file()
    csv = tmp_path / "customers.csv"
    csv.write_text("id,name\nc1,山田花子\n", encoding="utf-8")
    done = ecrm(project, "import", "customers", str(csv), "--store", "imported.db")
    assert done.returncode == 0, done.stderr
    assert ecrm(project, "status", "--store", "imported.db").returncode == 0


# --------------------------------------------------------------------------- ecrm run needs a way to deliver


def test_run_with_no_delivery_configured_refuses_to_start_and_decides_nothing(project: Path) -> None:
    store = deployed_with_a_first_order(project)
    done = ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("ecrm run: no delivery is configured, so every message that falls due would fail.")
    for needed in ("ECRM_SMTP_HOST", "ECRM_LINE_CHANNEL_TOKEN", "ECRM_BATCH_DIR", "--file-outbox DIR"):
        assert needed in done.stderr
    with open_store(store).connect() as conn:
        assert conn.execute(select(TABLES.decisions)).first() is None
    status = ecrm(project, "status")
    assert "last tick: never (start `ecrm run`)" in status.stdout
    document = json.loads(ecrm(project, "status", "--format", "json").stdout)
    assert document["last_tick"] is None and document["lag_seconds"] is None


def test_run_with_the_file_outbox_writes_messages_without_contact_details(project: Path) -> None:
    deployed_with_a_first_order(project)
    done = ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", "--file-outbox", "outbox")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "2025-03-02T10:00:00+09:00 tick: entered 1 (f2_step_mail 1); sent 1, skipped 0, deferred 0; "
        "deliveries: delivered 1 (email 1), retrying 0, failed 0\n"
    )
    [line] = (project / "outbox" / "email.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["template"] == "thanks_first"
    assert EMAIL not in line and NAME not in line


def test_run_log_lines_name_delivery_problems_by_channel_and_cause_in_text_and_json(project: Path) -> None:
    deployed_with_a_first_order(project)
    port = closed_port()
    smtp = {"ECRM_SMTP_HOST": "127.0.0.1", "ECRM_SMTP_PORT": str(port), "ECRM_MAIL_FROM": "shop@minori.example"}
    text = ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", env=smtp)
    assert text.returncode == 0, text.stderr
    cause = (
        f"the SMTP server 127.0.0.1:{port} refused the connection: is it running, and are ECRM_SMTP_HOST and "
        "ECRM_SMTP_PORT right?"
    )
    assert text.stdout == (
        "2025-03-02T10:00:00+09:00 tick: entered 1 (f2_step_mail 1); sent 1, skipped 0, deferred 0; "
        f"deliveries: delivered 0, retrying 1, failed 0\n  email: 1 will be retried: {cause}\n"
    )
    assert "warning: the deployed plan sends on line, which no delivery setting serves" in text.stderr
    assert "key=" not in text.stderr  # the tick line replaces the adapters' line per message
    later = ecrm(project, "run", "--once", "--now", "2025-03-02T10:10+09:00", "--log-format", "json", env=smtp)
    record = json.loads(later.stdout)
    assert record == {
        "now": "2025-03-02T10:10:00+09:00",
        "ticked_by": "this worker",  # the first run handed the tick lease back as it stopped
        "entered": {"f2_step_mail": 0},
        "decisions": {},
        "deliveries": {"retrying": 1},
        "delivered_by_channel": {},
        "delivery_problems": [{"channel": "email", "status": "transient", "error": cause, "count": 1}],
    }
    for output in (text.stdout, text.stderr, later.stdout, later.stderr):
        assert EMAIL not in output and NAME not in output


# --------------------------------------------------------------------------- status


def test_status_shows_last_tick_lag_and_outbox_backlog_in_text_and_json(project: Path) -> None:
    deployed_with_a_first_order(project)
    smtp = {"ECRM_SMTP_HOST": "127.0.0.1", "ECRM_SMTP_PORT": str(closed_port()), "ECRM_MAIL_FROM": "s@minori.example"}
    assert ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", env=smtp).returncode == 0
    # A minute later the failed first attempt waits for its retry (a few minutes on): pending, not yet due.
    document = json.loads(ecrm(project, "status", "--format", "json", "--now", "2025-03-02T10:01+09:00").stdout)
    assert document["format"] == "ecrm-status" and document["version"] == 1
    assert document["last_tick"] == "2025-03-02T01:00:00+00:00" and document["lag_seconds"] == 60
    assert document["outbox"] == {
        "pending": 1,
        "due": 0,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "oldest_pending": "2025-03-02T01:00:00+00:00",
        "oldest_pending_age_seconds": 60,
    }
    [scenario] = document["scenarios"]
    assert scenario["id"] == "f2_step_mail" and scenario["deliveries"] == {"pending": 1}
    # Hours later with no tick since, the lag shows it and the retry is due and waiting.
    text = ecrm(project, "status", "--now", "2025-03-02T12:30+09:00")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[1] == "last tick: 2025-03-02 10:00, 2 h 30 min ago"
    assert lines[2] == (
        "outbox: pending 1 (1 due now), sending 0, failed 0, sent 0; oldest pending decided 2 h 30 min ago"
    )


# --------------------------------------------------------------------------- report


def test_report_does_not_count_a_message_that_failed_to_deliver_as_sent(project: Path) -> None:
    deployed_with_a_first_order(project)
    batch_only = {"ECRM_BATCH_DIR": str(project / "batch")}  # email has no provider: its message fails
    assert ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", env=batch_only).returncode == 0
    failed = json.loads(ecrm(project, "report", "--format", "json").stdout)
    [scenario] = failed["scenarios"]
    assert {s["id"]: s["sent"] for s in scenario["steps"]}["thanks_first"] == 0
    assert {f["stage"]: f["count"] for f in scenario["funnel"]}["sent"] == 0
    assert failed["sends_per_day"] == []


def test_report_counts_a_delivered_message_as_sent(project: Path) -> None:
    deployed_with_a_first_order(project)
    assert ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", "--file-outbox", "o").returncode == 0
    delivered = json.loads(ecrm(project, "report", "--format", "json").stdout)
    [scenario] = delivered["scenarios"]
    assert {s["id"]: s["sent"] for s in scenario["steps"]}["thanks_first"] == 1
    assert {f["stage"]: f["count"] for f in scenario["funnel"]}["sent"] == 1


def test_email_through_a_plain_local_smtp_server_with_tls_none(project: Path) -> None:
    deployed_with_a_first_order(project)
    box = Inbox()
    with smtp_server(box) as server:
        env = {
            "ECRM_SMTP_HOST": "127.0.0.1",
            "ECRM_SMTP_PORT": str(server.port),
            "ECRM_SMTP_TLS": "none",
            "ECRM_MAIL_FROM": "みのり堂 <shop@minori.example>",
        }
        done = ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", env=env)
    assert done.returncode == 0, done.stderr
    assert "deliveries: delivered 1 (email 1), retrying 0, failed 0" in done.stdout
    [mail] = box.messages
    assert mail.rcpt_tos == [EMAIL]


def test_line_pushes_go_to_the_configured_base_url_a_sandbox_or_test_server(project: Path) -> None:
    deployed_with_a_first_order(project)
    with http_server(lambda request: json_reply(200, {}, **{"x-line-request-id": "req-1"})) as sandbox:
        env = {"ECRM_LINE_CHANNEL_TOKEN": "sandbox-token", "ECRM_LINE_BASE_URL": f"{sandbox.url}/line-sandbox/"}
        for moment in ("2025-03-02T10:00+09:00", "2025-03-08T10:00+09:00"):  # the day-7 coupon goes by LINE
            done = ecrm(project, "run", "--once", "--now", moment, "--file-outbox", "outbox", env=env)
            assert done.returncode == 0, done.stderr
    assert "deliveries: delivered 1 (line 1), retrying 0, failed 0" in done.stdout
    [push] = sandbox.requests
    assert push.path == "/line-sandbox/v2/bot/message/push"
    assert push.headers["authorization"] == "Bearer sandbox-token"
    assert push.json()["to"] == "U0123456789abcdef0123456789abcdef"
    status = ecrm(project, "status")
    assert "deliveries: sent 2" in status.stdout
