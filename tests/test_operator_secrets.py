"""Credentials never appear in what ``ecrm`` prints: a planted password and planted tokens, grepped for in the
output of every command (real processes), in the reports and in what the store recorded."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from ecrm_dsl.cli.redact import RedactingStream, display_location, redact, secrets_in
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.test_delivery_support import Inbox, Request, closed_port, http_server, json_reply, smtp_server
from tests.test_operator_cli import deployed_with_a_first_order, ecrm

PASSWORD = "Pl4nted-DB-pass"
SMTP_PASSWORD = "Pl4nted-smtp-pass"
LINE_TOKEN = "Pl4nted-line-token"
WEBHOOK_SECRET = "Pl4nted-hmac-key"
PLANTED = (PASSWORD, SMTP_PASSWORD, LINE_TOKEN, WEBHOOK_SECRET)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert ecrm(tmp_path, "init", "shop").returncode == 0
    return tmp_path / "shop"


def assert_clean(*outputs: str) -> None:
    for output in outputs:
        for secret in PLANTED:
            assert secret not in output, output


def test_a_database_password_is_in_no_commands_output(project: Path, tmp_path: Path) -> None:
    url = f"postgresql+psycopg://shop:{PASSWORD}@127.0.0.1:{closed_port()}/shop"
    shown = f"postgresql+psycopg://shop:***@127.0.0.1:{url.rsplit(':', 1)[1]}"
    csv = tmp_path / "customers.csv"
    csv.write_text("id,name\nc1,山田花子\n", encoding="utf-8")
    assert ecrm(project, "compile", "-o", str(tmp_path / "plan.json")).returncode == 0
    scenario = project / "scenarios" / "f2_step_mail.ecrm"
    scenario.write_text(scenario.read_text(encoding="utf-8").replace("day 7", "day 5"), encoding="utf-8")
    assert ecrm(project, "compile", "-o", str(tmp_path / "changed.json")).returncode == 0  # diff opens a store
    plan, changed = str(tmp_path / "plan.json"), str(tmp_path / "changed.json")  # only when something changed
    commands = {
        "status": ["status"],
        "explain": ["explain", "c1"],
        "run": ["run", "--once", "--file-outbox", "outbox"],
        "report": ["report", "--format", "html"],
        "simulate": ["simulate", "--from", "2025-03-01", "--to", "2025-03-02"],
        "deploy": ["deploy"],
        "import": ["import", "customers", str(csv)],
        "diff": ["diff", plan, changed],
    }
    for name, args in commands.items():
        given = ecrm(project, *args, "--store", url)
        from_env = ecrm(project, *args, env={"ECRM_STORE": url})
        for done in (given, from_env):
            assert done.returncode == 2, (name, done.stderr)
            assert "Traceback" not in done.stderr and "internal error" not in done.stderr, (name, done.stderr)
            assert shown in done.stderr, (name, done.stderr)  # the store is named, without its password
            assert_clean(done.stdout, done.stderr)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_delivery_credentials_are_in_no_output_report_or_record(project: Path, tmp_path: Path) -> None:
    store = deployed_with_a_first_order(project)

    def refuse(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        return AuthResult(success=isinstance(data, LoginPassword) and data.password == b"another", handled=False)

    def line(request: Request) -> tuple[int, dict[str, str], bytes]:
        return json_reply(200, {}, **{"x-line-request-id": "req-1"})

    box = Inbox()
    with (
        smtp_server(box, authenticator=refuse, auth_require_tls=False) as mail,
        http_server(line) as line_api,
        http_server(lambda request: json_reply(200)) as hook,
    ):
        env = {
            "ECRM_SMTP_HOST": "127.0.0.1",
            "ECRM_SMTP_PORT": str(mail.port),
            "ECRM_SMTP_TLS": "none",  # on loopback a login without TLS is allowed
            "ECRM_SMTP_USER": "shop",
            "ECRM_SMTP_PASSWORD": SMTP_PASSWORD,
            "ECRM_MAIL_FROM": "shop@minori.example",
            "ECRM_LINE_CHANNEL_TOKEN": LINE_TOKEN,
            "ECRM_LINE_BASE_URL": line_api.url,
            "ECRM_WEBHOOK_URL": hook.url,
            "ECRM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }
        outputs = []
        for moment in ("2025-03-02T10:00+09:00", "2025-03-08T10:00+09:00"):
            for fmt in ("text", "json"):
                done = ecrm(project, "run", "--once", "--now", moment, "--log-format", fmt, env=env)
                assert done.returncode == 0, done.stderr
                outputs += [done.stdout, done.stderr]
    assert "refused the login (535" in outputs[0]  # the email failed, and says why, without the password
    assert [r.headers["authorization"] for r in line_api.requests] == [f"Bearer {LINE_TOKEN}"]  # the token was used
    for args in (["status"], ["status", "--format", "json"], ["explain", "c1"], ["report", "--format", "json"]):
        done = ecrm(project, *args, env=env)
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    assert ecrm(project, "report", "--format", "html", "-o", "report.html", env=env).returncode == 0
    outputs.append((project / "report.html").read_text(encoding="utf-8"))
    assert_clean(*outputs)
    with open_store(store).connect() as conn:
        recorded = [str(row) for row in conn.execute(select(TABLES.outbox))]
        recorded += [str(row) for row in conn.execute(select(TABLES.decisions))]
    assert_clean(*recorded)


def test_redact_masks_url_passwords_and_secret_parameters() -> None:
    assert redact("postgresql+psycopg://shop:p%40ss@db.example:5432/shop") == (
        "postgresql+psycopg://shop:***@db.example:5432/shop"
    )
    assert redact("connect to mysql://u:pw@h/db?password=abc&sslmode=require failed") == (
        "connect to mysql://u:***@h/db?password=***&sslmode=require failed"
    )
    assert redact("postgresql://shop@db/shop and https://example.jp/a:b") == (
        "postgresql://shop@db/shop and https://example.jp/a:b"
    )
    assert display_location("/var/lib/ecrm/shop:1.db") == "/var/lib/ecrm/shop:1.db"  # a path is shown as given


def test_the_output_guard_masks_secrets_the_process_was_given() -> None:
    environ = {"ECRM_SMTP_PASSWORD": SMTP_PASSWORD, "ECRM_STORE": f"postgresql://u:{PASSWORD}@h/db", "ECRM_X": "1"}
    secrets = secrets_in(["ecrm", "status", "--store", "mysql://a:argv-secret@h/db"], environ)
    assert secrets == {SMTP_PASSWORD, PASSWORD, "argv-secret"}
    target = io.StringIO()
    guarded = RedactingStream(target, secrets)
    guarded.write(f"driver said: authentication failed for {PASSWORD!r}; smtp {SMTP_PASSWORD}\n")
    assert target.getvalue() == "driver said: authentication failed for '***'; smtp ***\n"
    # Anything else passes byte for byte: a plan or a scenario printed by compile or convert keeps its URLs.
    link = "coupon: https://minori.example/c?token=F2OFF10-abc and https://u:p4ssword@cdn.example/x\n"
    guarded.write(link)
    assert target.getvalue().endswith(link)


def test_an_unexpected_database_error_prints_one_line_without_the_statement_or_its_values(project: Path) -> None:
    store = deployed_with_a_first_order(project)
    with open_store(store).begin() as conn:
        conn.exec_driver_sql("DROP TABLE outbox")  # a damaged store: the report's query fails in the driver
    done = ecrm(project, "report")  # (report only reads; status would recreate the table)
    assert done.returncode == 3 and done.stdout == ""
    assert done.stderr == (
        "ecrm: internal error: OperationalError: (sqlite3.OperationalError) no such table: outbox "
        "(set ECRM_DEBUG=1 for details)\n"
    )


def test_a_delivery_url_refused_by_the_settings_check_is_shown_without_its_key(project: Path) -> None:
    deployed_with_a_first_order(project)
    env = {"ECRM_SMS_URL": f"http://sms.example.jp/send?api_key={PASSWORD}", "ECRM_SMS_TOKEN": LINE_TOKEN}
    done = ecrm(project, "run", "--once", env=env)
    assert done.returncode == 2
    assert "ECRM_SMS_URL: 'http://sms.example.jp/send': use https (http is allowed only to localhost)" in done.stderr
    assert_clean(done.stdout, done.stderr)
