"""``ecrm preview`` and ``ecrm send-test`` through the real command, on the starter project's store (SQLite).

The preview's LINE body and mail are compared with what ``ecrm run`` then really sends to a loopback LINE server and
a real SMTP server (aiosmtpd); the coupon pool is read before and after a preview; test sends go through the same
adapters to staff only, and leave the outbox, the journal and the report as they were.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, update

from ecrm_dsl.preview.bubble import find_chromium
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES
from tests.test_delivery_support import Inbox, http_server, json_reply, smtp_server
from tests.test_operator_cli import EMAIL, NAME, deployed_with_a_first_order, ecrm
from tests.test_operator_cli import project as project

LINE_ID = "U0123456789abcdef0123456789abcdef"
STAFF_LINE = "Ufedcba9876543210fedcba9876543210"
COUPON_DAY = "2025-03-08T10:00+09:00"  # the day-7 step: LINE, else email
UNSUBSCRIBE = {
    "ECRM_UNSUBSCRIBE_BASE_URL": "https://minori.example/unsubscribe",
    "ECRM_UNSUBSCRIBE_SECRET": "k3y-s3cret",
}
TEMPLATE = """\
template: repeat_coupon
title: 2回目購入クーポン
category: marketing
params:
  coupon_code:
    type: string
coupon: {pool: f2_spring, valid_for: 7d}
channels:
  email:
    subject: "{{ customer.name }}様へ 次回使えるクーポン"
    body: |
      {{ customer.name }}様
      クーポンコード: {{ coupon.code }}({{ coupon.expires_on }}まで)
      配信停止: {{ unsubscribe_url }}
    html: |
      <html><body><p>{{ customer.name }}様</p><p>{{ coupon.code }}</p>
      <a href="{{ unsubscribe_url }}">配信停止</a></body></html>
  line:
    text: "{{ customer.name }}様、次回使えるクーポンです: {{ coupon.code }}"
    alt_text: クーポンのお知らせ
    buttons:
      title: "{{ coupon_code }} 特典"
      text: "コード: {{ coupon.code }}"
      actions:
        - {label: クーポンを使う, url: "{{ shop.url }}/cart?coupon={{ coupon.code }}"}
"""
CODES = (
    "pool,code,expires_on\nf2_spring,SPRING-B,2025-04-30\nf2_spring,SPRING-A,2025-03-31\nf2_spring,OLD-1,2025-03-10\n"
)
DELIVERY_TOML = """\
[delivery]
shop_name = "みのり堂"
shop_url = "https://minori.example"

[test_send]
allow = ["*@minori.example", "{line}"]
"""


@pytest.fixture
def shop(project: Path) -> Path:
    """The starter project with a coupon template, deployed, one customer's first order, three codes imported
    (one expiring too soon for a 7-day coupon), and the day-1 mail already sent."""
    (project / "templates" / "repeat_coupon.yaml").write_text(TEMPLATE, encoding="utf-8")
    deployed_with_a_first_order(project)
    (project / "codes.csv").write_text(CODES, encoding="utf-8")
    done = ecrm(project, "import", "coupons", "codes.csv")
    assert done.returncode == 0, done.stderr
    (project / "delivery.toml").write_text(DELIVERY_TOML.format(line=STAFF_LINE), encoding="utf-8")
    first = ecrm(project, "run", "--once", "--now", "2025-03-02T10:00+09:00", "--file-outbox", "outbox")
    assert first.returncode == 0, first.stderr
    return project


def preview(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return ecrm(project, "preview", *args, "--delivery-config", "delivery.toml", env={**UNSUBSCRIBE, **(env or {})})


def preview_json(project: Path, *args: str) -> dict[str, Any]:
    done = preview(project, *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def store_rows(project: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a preview or a test send must leave alone: codes, outbox, journal, enrollments."""
    tables = {"coupons": TABLES.coupons, "outbox": TABLES.outbox, "decisions": TABLES.decisions}
    tables["enrollments"] = TABLES.enrollments
    with open_store(project / "ecrm.db").connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr) for name, table in tables.items()}


def loopback_smtp(port: int) -> dict[str, str]:
    """The delivery settings of the SMTP server on loopback that the mail tests start."""
    return {
        "ECRM_SMTP_HOST": "127.0.0.1",
        "ECRM_SMTP_PORT": str(port),
        "ECRM_SMTP_TLS": "none",
        "ECRM_MAIL_FROM": "みのり堂 <info@minori.example>",
    }


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


# --------------------------------------------------------------------------- the preview is what is sent


def test_the_line_preview_is_the_body_run_posts_and_the_coupon_pool_is_untouched(shop: Path) -> None:
    before = store_rows(shop)
    document = preview_json(
        shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, "--with-contacts"
    )
    assert (
        preview_json(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, "--with-contacts")
        == document
    )
    assert store_rows(shop) == before  # nothing drawn, queued or journaled, however often it is asked
    assert document["would_send"] is True
    assert "channel: line" in document["delivery"]
    # OLD-1 expires before the coupon's 7 days are up: the next code a send draws is SPRING-A.
    assert document["coupon"] == {"pool": "f2_spring", "code": "SPRING-A", "expires_on": "2025-03-31", "held": False}
    [line] = document["channels"]
    assert line["channel"] == "line" and line["notes"] == []

    with http_server(lambda request: json_reply(200, {}, **{"x-line-request-id": "req-1"})) as server:
        env = {"ECRM_LINE_CHANNEL_TOKEN": "t0ken", "ECRM_LINE_BASE_URL": server.url, **UNSUBSCRIBE}
        done = ecrm(shop, "run", "--once", "--now", COUPON_DAY, "--delivery-config", "delivery.toml", env=env)
    assert done.returncode == 0, done.stderr
    [push] = server.requests
    assert push.json() == line["payload"]
    assert line["payload"]["to"] == LINE_ID
    assert line["payload"]["messages"][0]["text"] == f"{NAME}様、次回使えるクーポンです: SPRING-A"
    assert (
        line["payload"]["messages"][1]["template"]["actions"][0]["uri"] == "https://minori.example/cart?coupon=SPRING-A"
    )
    # Once drawn, the preview shows the code the enrollment holds.
    again = preview_json(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert again["coupon"]["held"] is True and again["coupon"]["code"] == "SPRING-A"


def test_the_email_preview_is_the_mail_smtp_receives(shop: Path) -> None:
    with open_store(shop / "ecrm.db").begin() as conn:  # no LINE consent: the step falls back to email
        conn.execute(update(TABLES.customers).values(line_opt_in=False))
    document = preview_json(
        shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, "--with-contacts"
    )
    assert "channel: email (fallback; line: no consent (line_opt_in))" in document["delivery"]
    [mail] = document["channels"]
    box = Inbox()
    with smtp_server(box) as server:
        env = {**loopback_smtp(server.port), **UNSUBSCRIBE}
        shown = preview(
            shop,
            "f2_step_mail:repeat_coupon",
            "--customer",
            "c1",
            "--at",
            COUPON_DAY,
            "--format",
            "json",
            "--with-contacts",
            env=env,
        )
        done = ecrm(shop, "run", "--once", "--now", COUPON_DAY, "--delivery-config", "delivery.toml", env=env)
    assert done.returncode == 0, done.stderr
    [received] = box.messages
    assert received.rcpt_tos == [EMAIL]
    sent = parse(received.content)
    [mail] = json.loads(shown.stdout)["channels"]
    payload = mail["payload"]
    for header in ("From", "To", "Subject", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post"):
        assert str(sent[header]) == payload["headers"][header], header
    assert payload["subject"] == f"{NAME}様へ 次回使えるクーポン"
    assert sent.get_body(("plain",)).get_content() == payload["text"]  # type: ignore[union-attr]
    assert sent.get_body(("html",)).get_content() == payload["html"]  # type: ignore[union-attr]
    assert "SPRING-A(2025-03-31まで)" in payload["text"]
    assert "X-Ecrm-Test" not in sent


def test_contact_details_are_redacted_unless_asked_for(shop: Path) -> None:
    args = ("f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    redacted = preview(shop, *args, "--channel", "email")
    assert redacted.returncode == 0, redacted.stderr
    for secret in (NAME, EMAIL, LINE_ID):
        assert secret not in redacted.stdout
    assert "To: [redacted] <[redacted]>" in redacted.stdout
    assert "shown on email as asked; this customer would get it on line" in redacted.stdout
    shown = preview(shop, *args, "--with-contacts", "--channel", "line")
    assert LINE_ID in shown.stdout and f"{NAME}様" in shown.stdout


def test_a_customer_who_would_not_receive_it_is_still_previewed_with_the_reason(shop: Path) -> None:
    with open_store(shop / "ecrm.db").begin() as conn:
        conn.execute(update(TABLES.customers).values(line_opt_in=False, email_opt_in=False))
    done = preview(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert done.returncode == 0, done.stderr
    assert "! they would not receive it now" in done.stdout
    assert (
        "no reachable channel: line: no consent (line_opt_in); email: no consent (email_opt_in) — they would not "
        "receive it"
    ) in done.stdout
    assert '"text": "[redacted]様、次回使えるクーポンです: SPRING-A"' in done.stdout
    with open_store(shop / "ecrm.db").begin() as conn:
        conn.execute(update(TABLES.customers).values(line_opt_in=True))
        conn.execute(update(TABLES.enrollments).values(holdout=True))
    held_out = preview_json(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert held_out["would_send"] is False
    assert (
        "in the holdout of f2_step_mail: measured, never messaged — they would not receive it" in held_out["delivery"]
    )


def test_a_customer_over_the_frequency_cap_is_told_when_a_send_would_go(shop: Path) -> None:
    """The starter's policies allow three marketing messages in seven days; three went out this week."""
    sent = [
        {
            "idempotency_key": f"other:{day}",
            "customer_id": "c1",
            "scenario_id": "elsewhere",
            "scenario_hash": "sha256:0",
            "node_id": "n",
            "channel": "email",
            "template": "t",
            "category": "marketing",
            "params": {},
            "status": "sent",
            "created_at": dt.datetime(2025, 3, day, 1, tzinfo=dt.UTC),
            "next_attempt_at": dt.datetime(2025, 3, day, 1, tzinfo=dt.UTC),
        }
        for day in (5, 6, 7)
    ]
    with open_store(shop / "ecrm.db").begin() as conn:
        conn.execute(insert(TABLES.outbox), sent)
    document = preview_json(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert document["would_send"] is True  # the policy defers rather than drops
    assert (
        "frequency cap: 3 per 7d on all: a send now would wait until 2025-03-12T00:00:00+09:00" in document["delivery"]
    )


def test_an_empty_coupon_pool_is_said_and_the_send_would_be_skipped(shop: Path) -> None:
    with open_store(shop / "ecrm.db").begin() as conn:
        conn.execute(update(TABLES.coupons).where(TABLES.coupons.c.code != "OLD-1").values(enrollment_id=999))
    document = preview_json(shop, "f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert document["would_send"] is False and document["coupon"] is None
    assert (
        "coupon pool f2_spring has no unused code left: the send would be skipped (import more with ecrm import "
        "coupons)"
    ) in document["delivery"]


def test_a_template_alone_shows_every_channel_and_says_what_has_no_value(shop: Path) -> None:
    document = preview_json(shop, "repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    assert [c["channel"] for c in document["channels"]] == ["email", "line"]
    assert any(line.startswith("param coupon_code has no value") for line in document["context"])
    given = preview_json(shop, "repeat_coupon", "--customer", "c1", "--at", COUPON_DAY, "--param", "coupon_code=春")
    title = given["channels"][1]["payload"]["messages"][1]["template"]["title"]
    assert title == "春 特典"


@pytest.mark.parametrize(
    ("target", "customer", "sentence"),
    [
        (
            "repeat_cupon",
            "c1",
            "no template 'repeat_cupon' among those the scenarios send; did you mean 'repeat_coupon'?",
        ),
        ("f2_step:repeat_coupon", "c1", "no scenario 'f2_step'; did you mean 'f2_step_mail'?"),
        (
            "f2_step_mail:repeat_copon",
            "c1",
            "f2_step_mail has no step 'repeat_copon'; did you mean 'repeat_coupon'? (its send steps: repeat_coupon, "
            "thanks_first)",
        ),
        ("repeat_coupon", "C1", "the store has no customer 'C1'; did you mean 'c1'? (ids are matched exactly"),
    ],
)
def test_unknown_names_are_exit_1_with_a_did_you_mean(shop: Path, target: str, customer: str, sentence: str) -> None:
    done = preview(shop, target, "--customer", customer)
    assert done.returncode == 1
    assert done.stderr.startswith(f"ecrm preview: {sentence}")
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_a_template_no_scenario_sends_is_named_with_the_reason(shop: Path) -> None:
    (shop / "templates" / "spare.yaml").write_text(
        "template: spare\ncategory: transactional\nchannels:\n  email:\n    subject: s\n    body: b\n", encoding="utf-8"
    )
    done = preview(shop, "spare", "--customer", "c1")
    assert done.returncode == 1
    assert done.stderr == (
        "ecrm preview: no template 'spare' among those the scenarios send; spare.yaml exists, but no scenario sends "
        "it, and a plan holds only the templates its scenarios send: preview it through a step that sends it\n"
    )


def test_html_file_and_a_picture_of_the_line_bubble(shop: Path) -> None:
    args = ("f2_step_mail:repeat_coupon", "--customer", "c1", "--at", COUPON_DAY)
    done = preview(shop, *args, "--channel", "email", "--html", "mail.html")
    assert done.returncode == 0, done.stderr
    page = (shop / "mail.html").read_text(encoding="utf-8")
    assert "<p>[redacted]様</p><p>SPRING-A</p>" in page and "unsubscribe?c=c1" in page
    # --open hands the page to the browser $BROWSER names: here a script that notes what it was given.
    (shop / "browser.py").write_text("import sys, pathlib\npathlib.Path('opened.txt').write_text(sys.argv[1])\n")
    opened = preview(shop, *args, "--open", env={"BROWSER": f"{sys.executable} {shop / 'browser.py'} %s"})
    assert opened.returncode == 0, opened.stderr
    uri = (shop / "opened.txt").read_text()
    assert uri.startswith("file://") and uri.endswith(".html")
    bubble = Path(uri.removeprefix("file://"))
    # This customer would get the step on LINE: the page is the LINE bubble.
    assert '<div class="bubble">[redacted]様、次回使えるクーポンです: SPRING-A</div>' in bubble.read_text(
        encoding="utf-8"
    )
    bubble.unlink()
    if find_chromium() is None:
        missing = preview(shop, *args, "--picture", "bubble.png")
        assert missing.returncode == 2 and "no Chromium to take the picture with" in missing.stderr
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the picture needs it")
    drawn = preview(shop, *args, "--picture", "bubble.png")
    assert drawn.returncode == 0, drawn.stderr
    picture = (shop / "bubble.png").read_bytes()
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 5000  # a drawn page, not an empty one


# --------------------------------------------------------------------------- test sends


def report(project: Path) -> dict[str, Any]:
    done = ecrm(project, "report", "--format", "json")
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_a_test_mail_reaches_staff_marked_and_is_never_counted(shop: Path) -> None:
    before, figures = store_rows(shop), report(shop)
    box = Inbox()
    with smtp_server(box) as server:
        env = {**loopback_smtp(server.port), **UNSUBSCRIBE}
        args = (
            "f2_step_mail:repeat_coupon",
            "--customer",
            "c1",
            "--at",
            COUPON_DAY,
            "--delivery-config",
            "delivery.toml",
        )
        done = ecrm(shop, "send-test", *args, "--to", "Tanaka@Minori.example", env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "sent a test of f2_step_mail:repeat_coupon (email, as customer c1 would get it) to T***@Minori.example; "
        f"provider id {parse(box.messages[0].content)['Message-ID']}\n"
    )
    assert "test=1" in done.stderr and "delivery sent key=test:" in done.stderr  # the delivery log line
    for secret in ("Tanaka@Minori.example", EMAIL, "k3y-s3cret"):
        assert secret not in done.stdout + done.stderr
    [received] = box.messages
    assert received.rcpt_tos == ["Tanaka@Minori.example"]
    mail = parse(received.content)
    assert mail["Subject"] == f"[TEST] {NAME}様へ 次回使えるクーポン"
    assert mail["X-Ecrm-Test"] == "1"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "SPRING-A" in text
    # The link in a test unsubscribes nobody: it names no customer.
    assert "c=ecrm-test-send" in text and "c=c1" not in text and "c=c1" not in str(mail["List-Unsubscribe"])
    assert store_rows(shop) == before
    assert report(shop) == figures


def test_a_test_line_push_carries_the_marks(shop: Path) -> None:
    with http_server(lambda request: json_reply(200, {}, **{"x-line-request-id": "req-9"})) as server:
        env = {"ECRM_LINE_CHANNEL_TOKEN": "t0ken", "ECRM_LINE_BASE_URL": server.url}
        args = (
            "f2_step_mail:repeat_coupon",
            "--customer",
            "c1",
            "--at",
            COUPON_DAY,
            "--delivery-config",
            "delivery.toml",
        )
        done = ecrm(shop, "send-test", *args, "--to", STAFF_LINE, env=env)
    assert done.returncode == 0, done.stderr
    assert "to Ufe…3210; provider id req-9" in done.stdout and STAFF_LINE not in done.stdout + done.stderr
    [push] = server.requests
    assert push.headers["x-ecrm-test"] == "1"
    body = push.json()
    assert body["to"] == STAFF_LINE
    assert body["messages"][0]["text"] == f"[TEST] {NAME}様、次回使えるクーポンです: SPRING-A"


@pytest.mark.parametrize(
    ("address", "sentence"),
    [
        (EMAIL, "h***@example.jp is not on the test-send allow-list ([test_send] allow in delivery.toml)"),
        ("boss@evil.minori.example", "b***@evil.minori.example is not on the test-send allow-list"),
        ("U0000000000000000000000000000ffff", "U00…ffff is not on the test-send allow-list"),
        ("not an address", "--to not…ress is not an email address, a LINE user id"),
    ],
)
def test_addresses_off_the_allow_list_are_refused_with_exit_2(shop: Path, address: str, sentence: str) -> None:
    box = Inbox()
    with smtp_server(box) as server:
        env = loopback_smtp(server.port)
        done = ecrm(
            shop,
            "send-test",
            "repeat_coupon",
            "--customer",
            "c1",
            "--delivery-config",
            "delivery.toml",
            "--to",
            address,
            env=env,
        )
    assert done.returncode == 2
    assert done.stderr.startswith(f"ecrm send-test: {sentence}")
    assert box.messages == []


def test_without_a_settings_file_nobody_is_on_the_allow_list(shop: Path) -> None:
    done = ecrm(shop, "send-test", "repeat_coupon", "--customer", "c1", "--to", "staff@minori.example")
    assert done.returncode == 2
    assert "s***@minori.example is not on the test-send allow-list (no --delivery-config file was given)" in done.stderr
