"""Send-time policies: quiet hours, consent with fallback, frequency caps across scenarios, holdout, priority."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.runtime.world import JST, POLICIES, SCHEMA, World, template


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def world_with(
    tmp_path: Path,
    *scenarios: str,
    templates: tuple[str, ...] = (),
    priority: list[str] | None = None,
    policies: str | None = None,
) -> World:
    w = World(tmp_path)
    w.templates(*templates)
    for index, text in enumerate(scenarios):
        w.write(f"scenarios/s{index}.ecrm", text)
    if policies is not None:
        w.write("policies.yaml", policies)
    if priority:
        w.write("policies.yaml", (policies or POLICIES) + "priority: [" + ", ".join(priority) + "]\n")
    w.deploy(at(1, 0))
    return w


def scenario(name: str, body: str, trigger: str = "order.placed", kind: str = "sell") -> str:
    return (
        f'scenario {name} {{\n  kind {kind}\n  hypothesis cvr "t"\n  when {trigger}\n  goal survey.answered\n\n'
        f"{body}\n}}\n"
    )


def test_quiet_hours_defer_marketing_and_let_transactional_pass(tmp_path: Path) -> None:
    w = world_with(
        tmp_path,
        scenario("promo", "  after 1h: send email promo"),
        scenario("notice", "  after 1h: send email shipping_notice", trigger="order.shipped"),
        templates=(template("promo"), template("shipping_notice", category="transactional")),
    )
    w.customer("a")
    w.order("a", at(1, 21, 30))
    w.event("a", "order.shipped", at(1, 21, 30), order_id="x")
    w.ticks(at(1, 22), at(2, 10), every=dt.timedelta(minutes=30))
    assert w.sends("a") == [("a", "shipping_notice", "email", at(1, 22, 30)), ("a", "promo", "email", at(2, 9))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["reason"] == "quiet hours until 2025-03-02T09:00:00+09:00"


def test_consent_is_checked_at_send_time_with_the_fallback_channel(tmp_path: Path) -> None:
    w = world_with(
        tmp_path, scenario("promo", "  after 2d: send line promo fallback email"), templates=(template("promo"),)
    )
    w.customer("opted_in")
    w.customer("no_line", line_opt_in=False)
    w.customer("nothing", line_opt_in=False, email_opt_in=False)
    w.customer("left_later")
    for cid in ("opted_in", "no_line", "nothing", "left_later"):
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    with w.engine.begin() as conn:  # unsubscribes after entering, before the send
        from sqlalchemy import update

        from ecrm_dsl.store.tables import TABLES

        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "left_later").values(unsubscribed=True))
    w.tick(at(3, 11))
    assert sorted((s[0], s[2]) for s in w.sends()) == [("no_line", "email"), ("opted_in", "line")]
    [skipped] = w.decisions("nothing", "skipped")
    assert "line: no consent (line_opt_in); email: no consent (email_opt_in)" in skipped["reason"]
    assert "unsubscribed" in w.decisions("left_later", "skipped")[0]["reason"]
    assert "fallback" in w.decisions("no_line", "sent")[0]["reason"]


def test_frequency_cap_across_scenarios_defers_the_lower_priority_one(tmp_path: Path) -> None:
    policies = POLICIES.replace(
        "  - {channel: all, max: 3, per: 1d, on_exceed: defer}", "  - {channel: all, max: 1, per: 1d, on_exceed: defer}"
    )
    w = world_with(
        tmp_path / "w",
        scenario("low", "  after 1h: send email low_mail"),
        scenario("high", "  after 1h: send email high_mail"),
        templates=(template("low_mail"), template("high_mail")),
        priority=["high", "low"],
        policies=policies,
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(2, 12), every=dt.timedelta(hours=1))
    # 1d is the shop's calendar day: the slot frees at midnight, and quiet hours hold the mail until 09:00.
    assert w.sends("a") == [("a", "high_mail", "email", at(1, 11)), ("a", "low_mail", "email", at(2, 9))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["scenario_id"] == "low"
    assert deferred["reason"] == (
        "frequency cap: 1 per 1d on all, open again 2025-03-02T00:00:00+09:00 in quiet hours, "
        "until 2025-03-02T09:00:00+09:00"
    )


def test_frequency_cap_skip_drops_and_records_why(tmp_path: Path) -> None:
    policies = POLICIES.replace(
        "  - {channel: all, max: 3, per: 1d, on_exceed: defer}",
        "  - {channel: email, max: 1, per: 7d, on_exceed: skip}",
    )
    w = world_with(
        tmp_path / "w",
        scenario("two", "  after 1h: send email first\n  after 1d: send email second"),
        templates=(template("first"), template("second")),
        policies=policies,
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(3, 12), every=dt.timedelta(hours=12))
    assert [s[1] for s in w.sends("a")] == ["first"]
    assert w.decisions("a", "skipped")[0]["reason"] == "frequency cap: 1 per 7d on email"


def test_holdout_customers_are_enrolled_but_never_messaged(tmp_path: Path) -> None:
    body = "  holdout 50%\n  after 1h: send email promo"
    w = world_with(tmp_path, scenario("promo", body), templates=(template("promo"),))
    customers = [f"c{i:03d}" for i in range(200)]
    for cid in customers:
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.ticks(at(1, 11), at(1, 12))
    held = {c for c in customers if "holdout" in (w.decisions(c, "entered")[0]["reason"] or "")}
    messaged = {s[0] for s in w.sends()}
    assert 70 < len(held) < 130  # about half, deterministically
    assert messaged == set(customers) - held
    assert all(w.enrollment_status(c) == ["completed"] for c in customers)


def test_ab_assignment_is_deterministic_and_weighted(tmp_path: Path) -> None:
    body = (
        "  @test split {\n    variant a 80 {\n      send email mail_a\n    }\n"
        "    variant b 20 {\n      send email mail_b\n    }\n  }"
    )
    first = world_with(tmp_path / "1", scenario("ab", body), templates=(template("mail_a"), template("mail_b")))
    second = world_with(tmp_path / "2", scenario("ab", body), templates=(template("mail_a"), template("mail_b")))
    for w in (first, second):
        for i in range(300):
            w.customer(f"c{i}")
            w.order(f"c{i}", at(1, 10))
        w.tick(at(1, 11))
    assert first.sends() == second.sends()
    share_a = sum(1 for s in first.sends() if s[1] == "mail_a") / 300
    assert 0.72 < share_a < 0.88


def test_sell_scenarios_never_message_customers_the_nurture_only_policy_protects(tmp_path: Path) -> None:
    policies = POLICIES + "nurture_only: [unhappy]\n"
    w = World(tmp_path)
    w.templates(template("promo"), template("care"))
    w.write("segments/unhappy.yaml", "segment: unhappy\nwhere: customer.last_survey_satisfaction <= 2\n")
    w.write("policies.yaml", policies)
    w.write("scenarios/sell.ecrm", scenario("sell_it", "  after 1h: send email promo"))
    w.write("scenarios/care.ecrm", scenario("care_it", "  after 1h: send email care", kind="nurture"))
    w.deploy(at(1, 0))
    w.customer("happy")
    w.customer("unhappy")
    w.event("unhappy", "survey.answered", at(1, 8), satisfaction=1)
    for cid in ("happy", "unhappy"):
        w.order(cid, at(1, 9))
    w.ticks(at(1, 10), at(1, 11))
    assert sorted((s[0], s[1]) for s in w.sends()) == [("happy", "care"), ("happy", "promo"), ("unhappy", "care")]
    [skipped] = w.decisions("unhappy", "skipped")
    assert skipped["scenario_id"] == "sell_it" and skipped["reason"].startswith("nurture-only")


def test_consent_kept_in_a_custom_attribute_is_read_at_send_time(tmp_path: Path) -> None:
    # The send path leaves the custom attributes out of a profile unless a consent rule names one.
    w = World(tmp_path)
    w.write("customer_schema.yaml", SCHEMA + "  newsletter_ok: {type: bool}\n")
    w.write("policies.yaml", POLICIES.replace("customer.email_opt_in", "customer.newsletter_ok"))
    w.templates(template("promo"))
    w.write("scenarios/s0.ecrm", scenario("promo", "  after 1h: send email promo"))
    w.deploy(at(1, 0))
    w.customer("yes", email_opt_in=False, attributes={"newsletter_ok": True})
    w.customer("no", attributes={"newsletter_ok": False})
    w.customer("unset")
    for cid in ("yes", "no", "unset"):
        w.order(cid, at(1, 10))
    w.ticks(at(1, 11), at(1, 12))
    assert [(s[0], s[2]) for s in w.sends()] == [("yes", "email")]
    for cid in ("no", "unset"):
        [skipped] = w.decisions(cid, "skipped")
        assert skipped["reason"] == "no reachable channel: email: no consent (newsletter_ok)"
