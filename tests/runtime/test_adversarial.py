"""Adversarial tests of the runtime: boundaries, catch-up, idempotence, deploys in flight, batching, and the CLI loop.

Every test runs the real pipeline (compile → deploy → ticks) on a real SQLite store through
:mod:`tests.runtime.world`. Tests marked ``xfail(strict=True, reason="BUG: …")`` describe behaviour the runtime
gets wrong today; each reason says what happens, what should happen, and where.
"""

from __future__ import annotations

import datetime as dt
import os
import selectors
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from ecrm_dsl.cli import cli
from ecrm_dsl.delivery.outbox import FileAdapter
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.runtime import dispatch as dispatch_module
from ecrm_dsl.runtime import enroll as enroll_module
from ecrm_dsl.runtime import scheduler as scheduler_module
from ecrm_dsl.runtime.deploy import DeployRefused
from ecrm_dsl.runtime.dispatch import Dispatcher
from ecrm_dsl.runtime.explain import explain
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import (
    POLICIES,
    World,
    at,
    build,
    bulk_customers,
    bulk_orders,
    enrollments,
    journal,
    kinds,
    outbox_rows,
    scenario,
    set_customer,
    template,
)

UTC = dt.UTC
HOUR = dt.timedelta(hours=1)
DEFAULT_CAP = "  - {channel: all, max: 3, per: 1d, on_exceed: defer}"


def with_caps(caps: str, extra: str = "") -> str:
    return POLICIES.replace(DEFAULT_CAP, caps) + extra


def with_quiet(quiet: str) -> str:
    return POLICIES.replace('{start: "21:00", end: "09:00"}', quiet)


def until(reason: str) -> dt.datetime:
    """The instant at the end of a 'deferred … until <ISO time>' or 'cool-down until <ISO time>' reason."""
    return dt.datetime.fromisoformat(reason.rsplit("until ", 1)[1])


def sent_steps(w: World, cid: str) -> list[str]:
    return [s[1] for s in w.sends(cid)]


def statuses(w: World) -> Counter[str]:
    return Counter(str(e[3]) for e in enrollments(w))


WAIT_BODY = (
    "  @ask send email mail\n"
    "  @answer wait for survey.answered timeout TIMEOUT {\n"
    "    on event {\n      @sorry send email mail\n    }\n"
    "    on timeout {\n      @remind send email mail\n    }\n"
    "  }"
)


def wait_scenario(timeout: str = "3d", body: str = WAIT_BODY) -> str:
    return scenario("s", "order.shipped", body.replace("TIMEOUT", timeout))


# ============================================================================ timing


def test_day_n_at_for_an_entry_just_after_local_midnight_counts_the_shop_date(tmp_path: Path) -> None:
    """00:30 JST is still the previous day in UTC: 'day 0' must be the JST date, not the UTC one."""
    body = "  @d0 day 0 at 10:00: send email mail\n  @d1 day 1 at 10:00: send email mail"
    w = build(tmp_path, {"s": scenario("s", "order.placed", body)})
    w.customer("a")
    w.order("a", at(2, 0, 30))  # 2025-03-01T15:30Z
    w.ticks(at(2, 1), at(3, 11), every=HOUR * 3)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("d0", at(2, 10)), ("d1", at(3, 10))]


def test_day_n_at_in_a_shop_with_daylight_saving_keeps_the_wall_clock(tmp_path: Path) -> None:
    """A shop in Los Angeles: 'day 1 at 10:00' across the 2025-03-09 DST switch is 10:00 local both sides."""
    la = ZoneInfo("America/Los_Angeles")
    body = "  @d1 day 1 at 10:00: send email mail\n  @d3 day 3 at 10:00: send email mail"
    w = build(tmp_path, {"s": scenario("s", "order.placed", body)}, policies=POLICIES.replace("Asia/Tokyo", str(la)))
    w.customer("a")
    w.order("a", dt.datetime(2025, 3, 8, 12, 0, tzinfo=la))  # the day before the clocks go forward
    # 10:00 PDT is 17:00Z; a due time computed with the old offset would be 18:00Z.
    for day, hour in ((8, 21), (9, 16), (9, 17), (9, 18), (11, 16), (11, 17), (11, 18)):
        w.tick(dt.datetime(2025, 3, day, hour, tzinfo=UTC))
    local = [(s[1], s[3].astimezone(la).replace(tzinfo=None)) for s in w.sends("a")]
    assert local == [("d1", dt.datetime(2025, 3, 9, 10)), ("d3", dt.datetime(2025, 3, 11, 10))]


def test_waits_after_a_deferred_send_count_from_the_send_while_entry_relative_steps_do_not_move(
    tmp_path: Path,
) -> None:
    body = (
        "  @first after 1h: send email first\n"
        "  @second after 2h: send email second\n"
        "  @third 26h after entry: send email third"
    )
    w = build(
        tmp_path, {"s": scenario("s", "order.placed", body)}, (template("first"), template("second"), template("third"))
    )
    w.customer("a")
    w.order("a", at(1, 7, 30))  # first is due 08:30: quiet hours hold it until 09:00
    for moment in (at(1, 8, 30), at(1, 9), at(1, 10, 30), at(1, 11), at(2, 9), at(2, 9, 30)):
        w.tick(moment)
    assert [(s[1], s[3]) for s in w.sends("a")] == [
        ("first", at(1, 9)),  # deferred, not dropped
        ("second", at(1, 11)),  # 2h after first actually went (not 10:30, 2h after it was due)
        ("third", at(2, 9, 30)),  # 26h after entry, whatever happened in between
    ]


# ============================================================================ quiet hours


def test_quiet_hours_boundaries_to_the_second(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": scenario("s", "order.placed", "  after 1h: send email mail")})
    due = {  # customer → when their message is due (order + 1h)
        "just_before_start": at(1, 20, 59, second=59),
        "at_start": at(1, 21, 0),
        "just_before_end": at(2, 8, 59, second=59),
        "at_end": at(2, 9, 0),
    }
    for cid, moment in due.items():
        w.customer(cid)
        w.order(cid, moment - HOUR)
    for moment in sorted(due.values()):
        w.tick(moment)
    expected = {
        "just_before_start": at(1, 20, 59, second=59),
        "at_start": at(2, 9),
        "just_before_end": at(2, 9),
        "at_end": at(2, 9),
    }
    assert {cid: [s[3] for s in w.sends(cid)] for cid in due} == {cid: [t] for cid, t in expected.items()}
    [deferred] = w.decisions("at_start", "deferred")
    assert deferred["reason"].startswith("quiet hours until ") and until(deferred["reason"]) == at(2, 9)
    assert w.decisions("at_end", "deferred") == []


@pytest.mark.parametrize(
    ("quiet", "expected"),
    [
        # a lunchtime window that does not cross midnight
        ('{start: "12:00", end: "13:00"}', {"noon": at(1, 13), "late": at(1, 23, 30), "midnight": at(2, 1)}),
        # a window that ends exactly at midnight
        ('{start: "22:00", end: "00:00"}', {"noon": at(1, 12, 30), "late": at(2, 0), "midnight": at(2, 1)}),
        # a window that starts exactly at midnight
        ('{start: "00:00", end: "06:00"}', {"noon": at(1, 12, 30), "late": at(1, 23, 30), "midnight": at(2, 6)}),
    ],
)
def test_quiet_windows_that_do_not_cross_midnight_or_touch_it(
    tmp_path: Path, quiet: str, expected: dict[str, dt.datetime]
) -> None:
    w = build(tmp_path, {"s": scenario("s", "order.placed", "  after 1h: send email mail")}, policies=with_quiet(quiet))
    for cid, ordered in {"noon": at(1, 11, 30), "late": at(1, 22, 30), "midnight": at(1, 23, 59)}.items():
        w.customer(cid)
        w.order(cid, ordered)
    w.ticks(at(1, 12), at(2, 8), every=dt.timedelta(minutes=30))
    assert {cid: [s[3] for s in w.sends(cid)] for cid in expected} == {c: [t] for c, t in expected.items()}


def test_a_zero_length_quiet_window_never_swallows_marketing(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.templates(template("mail"))
    w.write("policies.yaml", with_quiet('{start: "10:00", end: "10:00"}'))
    w.write("scenarios/s.ecrm", scenario("s", "order.placed", "  after 1h: send email mail"))
    result = lint(load_config(tmp_path / "project" / "ecrm.toml"))
    if any(d.effective_severity == Severity.ERROR for d in result.diagnostics):
        return  # refusing the policy at lint time is an acceptable answer
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 11))
    w.ticks(at(1, 12), at(3, 12), every=HOUR * 6)
    assert len(w.sends("a")) == 1


def test_a_cap_deferral_that_lands_on_the_start_of_quiet_hours_waits_for_their_end_not_dropped(tmp_path: Path) -> None:
    policies = with_caps("  - {channel: all, max: 1, per: 12h, on_exceed: defer}")
    body = "  @first after 1h: send email first\n  @second after 1h: send email second"
    w = build(
        tmp_path, {"s": scenario("s", "order.placed", body)}, (template("first"), template("second")), policies=policies
    )
    w.customer("a")
    w.order("a", at(1, 8))  # first due 09:00; second due 10:00, capped until 21:00 = start of quiet hours
    w.ticks(at(1, 9), at(2, 10), every=HOUR)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 9)), ("second", at(2, 9))]
    [capped] = w.decisions("a", "deferred")  # one deferral, straight past the quiet hours the window opens in
    assert capped["reason"].startswith("frequency cap: 1 per 12h on all, ")
    assert until(capped["reason"]) == at(2, 9)
    assert "open again 2025-03-01T21:00:00+09:00 in quiet hours" in capped["reason"]


# ============================================================================ frequency caps and priority


def test_caps_per_channel_and_across_channels_with_fallback_and_priority(tmp_path: Path) -> None:
    caps = (
        "  - {channel: email, max: 1, per: 1d, on_exceed: defer}\n"
        "  - {channel: line, max: 1, per: 1d, on_exceed: skip}\n"
        "  - {channel: all, max: 2, per: 1d, on_exceed: defer}"
    )
    w = build(
        tmp_path,
        {
            "p1": scenario("p1", "order.placed", "  after 1h: send email m1"),
            "p2": scenario("p2", "order.placed", "  after 1h: send line m2 fallback email"),
            "p3": scenario("p3", "order.placed", "  after 1h: send line m3 fallback email"),
            "p4": scenario("p4", "order.placed", "  after 1h: send email m4"),
        },
        tuple(template(n) for n in ("m1", "m2", "m3", "m4")),
        policies=with_caps(caps, "priority: [p1, p2, p3, p4]\n"),
    )
    w.customer("both")
    w.customer("no_line", line_opt_in=False)
    for cid in ("both", "no_line"):
        w.order(cid, at(1, 10))
    w.ticks(at(1, 11), at(3, 11), every=HOUR * 6)
    assert [(s[1], s[2], s[3]) for s in w.sends("both")] == [
        ("m1", "email", at(1, 11)),
        ("m2", "line", at(1, 11)),  # the 'all' cap (2/day) is now full
        ("m4", "email", at(2, 11)),  # m3 was skipped by the line cap's skip; m4 waited for the email cap
    ]
    [skipped] = w.decisions("both", "skipped")
    assert skipped["scenario_id"] == "p3" and skipped["reason"] == "frequency cap: 1 per 1d on line"
    # Without LINE consent every message falls back to email: one a day, in priority order, none dropped.
    assert [(s[1], s[2], s[3]) for s in w.sends("no_line")] == [
        ("m1", "email", at(1, 11)),
        ("m2", "email", at(2, 11)),
        ("m3", "email", at(3, 11)),
    ]
    assert all("on email" in d["reason"] for d in w.decisions("no_line", "deferred"))


def test_a_capped_primary_channel_defers_rather_than_switching_to_the_fallback(tmp_path: Path) -> None:
    """Decision: fallbacks are for reachability (contact point, consent), not for caps; the cap defers the send."""
    w = build(
        tmp_path,
        {
            "p1": scenario("p1", "order.placed", "  after 1h: send line m1"),
            "p2": scenario("p2", "order.placed", "  after 1h: send line m2 fallback email"),
        },
        (template("m1"), template("m2")),
        policies=with_caps("  - {channel: line, max: 1, per: 1d, on_exceed: defer}", "priority: [p1, p2]\n"),
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(2, 11), every=HOUR * 6)
    assert [(s[1], s[2], s[3]) for s in w.sends("a")] == [("m1", "line", at(1, 11)), ("m2", "line", at(2, 11))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["reason"].startswith("frequency cap: 1 per 1d on line")


def test_a_cap_longer_than_31_days_is_enforced(tmp_path: Path) -> None:
    policies = with_caps("  - {channel: email, max: 1, per: 60d, on_exceed: skip}")
    body = "  @first after 1h: send email first\n  @second after 40d: send email second"
    w = build(
        tmp_path, {"s": scenario("s", "order.placed", body)}, (template("first"), template("second")), policies=policies
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 12))
    w.tick(at(10, 12, month=4))
    assert sent_steps(w, "a") == ["first"]
    assert w.decisions("a", "skipped")[0]["reason"] == "frequency cap: 1 per 60d on email"


def test_priority_holds_when_the_higher_priority_send_follows_a_non_send_step(tmp_path: Path) -> None:
    w = build(
        tmp_path,
        {
            "low": scenario("low", "order.placed", "  after 1h: send email low_mail"),
            "high": scenario("high", "order.placed", '  @mark after 1h: update tag "seen"\n  send email high_mail'),
        },
        (template("low_mail"), template("high_mail")),
        policies=with_caps("  - {channel: all, max: 1, per: 1d, on_exceed: defer}", "priority: [high, low]\n"),
    )
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(2, 11), every=HOUR * 6)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("high_mail", at(1, 11)), ("low_mail", at(2, 11))]


# ============================================================================ consent


def test_consent_revoked_between_decision_and_dispatch_is_not_delivered(tmp_path: Path) -> None:
    w = build(tmp_path / "w", {"s": scenario("s", "order.placed", "  after 1h: send email mail")})
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 11))
    assert len(w.sends("a")) == 1  # decided while opted in
    set_customer(w, "a", email_opt_in=False)
    sink = tmp_path / "email.jsonl"
    Dispatcher(w.engine, {"email": FileAdapter("email", sink)}).run(at(1, 11, 1))
    assert not sink.exists() or sink.read_text(encoding="utf-8") == ""
    with w.engine.connect() as conn:
        assert conn.execute(select(TABLES.outbox.c.status)).scalar_one() != "sent"


# ============================================================================ goals


def test_a_goal_purchase_at_the_same_second_as_a_due_send_wins(tmp_path: Path) -> None:
    body = "  @one day 1 at 10:00: send email mail"
    w = build(tmp_path, {"s": scenario("s", "order.placed", body, "  goal order.placed repeat")})
    w.customer("a")
    w.order("a", at(1, 9))
    w.tick(at(1, 9))
    w.order("a", at(2, 10))  # the repeat purchase at exactly the due second …
    w.tick(at(2, 10))  # … and the tick at that same second
    assert w.sends("a") == []
    assert w.enrollment_status("a") == ["converted"]
    [converted] = w.decisions("a", "converted")
    assert converted["at"] == at(2, 10)


def test_a_goal_purchase_during_a_quiet_hours_deferral_cancels_the_deferred_message(tmp_path: Path) -> None:
    body, goal = "  after 1h: send email mail", "  goal order.placed repeat"
    w = build(tmp_path, {"s": scenario("s", "order.placed", body, goal)})
    w.customer("a")
    w.order("a", at(1, 21, 30))
    w.tick(at(1, 22, 30))  # deferred until 09:00
    w.order("a", at(2, 9))  # bought again exactly when the deferral ends
    w.tick(at(2, 9))
    w.tick(at(2, 10))
    assert w.sends("a") == []
    assert kinds(w, "a") == ["entered", "deferred", "converted", "not_entered"]


def test_a_branch_on_orders_since_entry_counts_repeat_purchases_but_not_the_entry_order(tmp_path: Path) -> None:
    body = (
        "  @route after 2d: if orders_since_entry >= 2 {\n    @many send email mail\n"
        "  } elif orders_since_entry == 1 {\n    @one send email mail\n  } else {\n    @none send email mail\n  }"
    )
    w = build(tmp_path, {"s": scenario("s", "order.placed where customer.order_count == 1", body)})
    for cid, repeats in (("zero", 0), ("once", 1), ("twice", 2)):
        w.customer(cid)
        w.order(cid, at(1, 10))
        for k in range(repeats):
            w.order(cid, at(2, 10 + k))
    w.order("zero", at(5, 10))  # after the branch was taken: must not matter
    w.ticks(at(1, 11), at(3, 11), every=HOUR * 12)
    assert {cid: sent_steps(w, cid) for cid in ("zero", "once", "twice")} == {
        "zero": ["none"],
        "once": ["one"],
        "twice": ["many"],
    }


def test_reentry_always_lets_the_converting_purchase_start_a_new_enrollment(tmp_path: Path) -> None:
    body = "  @first after 1h: send email mail\n  @later after 3d: send email mail"
    extra = "  reentry always\n  goal order.placed repeat"
    w = build(tmp_path, {"s": scenario("s", "order.placed", body, extra)})
    w.customer("a")
    w.order("a", at(1, 10))
    w.ticks(at(1, 11), at(2, 11), every=HOUR * 12)
    w.order("a", at(2, 12))  # converts the first enrollment; with 'reentry always' it starts the next one
    w.ticks(at(2, 13), at(3, 13), every=HOUR * 12)
    assert w.enrollment_status("a") == ["converted", "active"]
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 11)), ("first", at(2, 13))]


# ============================================================================ waits for events


def test_an_event_exactly_at_the_timeout_counts_as_heard(tmp_path: Path) -> None:
    """Decision: the timeout boundary is inclusive (an answer at the deadline second is on time)."""
    w = build(tmp_path, {"s": wait_scenario("3d")})
    w.customer("a")
    w.event("a", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 10))
    w.event("a", "survey.answered", at(4, 10))  # exactly ask + 3d
    w.tick(at(4, 10))
    assert sent_steps(w, "a") == ["ask", "sorry"]
    assert "timed_out" not in kinds(w, "a")


def test_an_event_during_downtime_before_the_timeout_is_heard_on_catch_up(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": wait_scenario("3d")})
    w.customer("a")
    w.event("a", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 10))
    w.event("a", "survey.answered", at(2, 10))  # the scheduler is down from here …
    w.event("a", "survey.answered", at(5, 10))  # … and a second answer comes after the timeout
    w.tick(at(6, 10))  # … to here, well past the timeout
    w.tick(at(6, 10))
    assert sent_steps(w, "a") == ["ask", "sorry"]
    [heard] = w.decisions("a", "heard")
    assert heard["detail"]["event_id"] == 2  # the answer within the window (1 is the shipment, 3 the late answer)


# ============================================================================ triggers


@pytest.mark.parametrize(
    ("trigger", "year", "expected"),
    [
        (
            "date customer.birthday at 09:00 yearly",
            2025,
            {"leap": at(28, 9, month=2), "feb28": at(28, 9, month=2), "mar1": at(1, 9)},
        ),
        (
            "date 1d before customer.birthday at 09:00 yearly",
            2025,
            {"leap": at(27, 9, month=2), "feb28": at(27, 9, month=2), "mar1": at(28, 9, month=2)},
        ),
        (
            "date customer.birthday at 09:00 yearly",
            2028,
            {
                "leap": at(29, 9, month=2, year=2028),
                "feb28": at(28, 9, month=2, year=2028),
                "mar1": at(1, 9, year=2028),
            },
        ),
    ],
)
def test_birthdays_on_29_february(tmp_path: Path, trigger: str, year: int, expected: dict[str, dt.datetime]) -> None:
    w = build(
        tmp_path,
        {"s": scenario("s", trigger, "  send email mail", "  reentry always")},
        deploy_at=at(25, 0, month=2, year=year),
    )
    w.customer("leap", birthday=dt.date(2000, 2, 29))
    w.customer("feb28", birthday=dt.date(1999, 2, 28))
    w.customer("mar1", birthday=dt.date(1990, 3, 1))
    w.ticks(at(25, 0, month=2, year=year), at(3, 0, year=year), every=HOUR * 3)
    assert {cid: [s[3] for s in w.sends(cid)] for cid in expected} == {c: [t] for c, t in expected.items()}


def test_a_date_trigger_on_a_datetime_attribute_does_not_crash_the_tick(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": scenario("s", "date 3d after customer.signed_up_at at 10:00", "  send email mail")})
    w.customer("a", signed_up_at=at(1, 15))
    w.ticks(at(1, 0), at(5, 0), every=HOUR * 2)
    assert [s[3] for s in w.sends("a")] == [at(4, 10)]


def test_a_yearly_date_trigger_on_a_datetime_attribute_uses_the_shop_date(tmp_path: Path) -> None:
    trigger = "date 1d after customer.signed_up_at at 10:00 yearly"
    w = build(tmp_path, {"s": scenario("s", trigger, "  send email mail")})
    w.customer("afternoon", signed_up_at=at(1, 15))  # 06:00Z: the same date in UTC and JST
    w.customer("morning", signed_up_at=at(1, 8))  # 2025-02-28T23:00Z: still February in UTC
    w.ticks(at(1, 0), at(3, 0), every=HOUR * 2)
    assert {cid: [s[3] for s in w.sends(cid)] for cid in ("afternoon", "morning")} == {
        "afternoon": [at(2, 10)],
        "morning": [at(2, 10)],
    }


def test_cron_at_tokyo_midnight_across_a_month_end_with_utc_ticks(tmp_path: Path) -> None:
    w = build(
        tmp_path,
        {"s": scenario("s", 'schedule "0 0 1 * *" audience readers', "  send email mail", "  reentry always")},
        segments={"readers": "customer.email_opt_in == true"},
        deploy_at=at(31, 12),
    )
    w.customer("r")
    moment = at(31, 12).astimezone(UTC)
    while moment <= at(1, 12, month=4).astimezone(UTC):
        w.tick(moment)
        moment += HOUR
    [entered] = w.decisions("r", "entered")
    assert entered["at"] == at(1, 0, month=4)  # 2025-03-31T15:00Z: April in Tokyo, still March in UTC
    assert [(s[1], s[3]) for s in w.sends("r")] == [("mail", at(1, 9, month=4))]  # quiet hours until 09:00
    with w.engine.connect() as conn:
        assert "2025-04-01 00:00  s: entered" in explain(conn, "r", "Asia/Tokyo")


def test_cron_on_the_31st_skips_short_months_and_a_long_outage_catches_up_once(tmp_path: Path) -> None:
    w = build(
        tmp_path,
        {"s": scenario("s", 'schedule "0 10 31 * *" audience readers', "  send email mail", "  reentry always")},
        segments={"readers": "customer.email_opt_in == true"},
        deploy_at=at(30, 0),
    )
    w.customer("r")
    w.tick(at(30, 0))
    w.tick(at(31, 10))
    w.tick(at(1, 0, month=5))  # April has no 31st
    w.tick(at(15, 12, month=8))  # down from May to mid-August: 31 May and 31 July were missed
    w.tick(at(15, 12, month=8))
    assert [s[3] for s in w.sends("r")] == [at(31, 10), at(15, 12, month=8)]
    # The second missed fire found the customer still in the scenario: one catch-up message, not two.
    assert [d["reason"] for d in w.decisions("r", "not_entered")] == ["already in this scenario"]


def test_segment_flapping_respects_the_cool_down(tmp_path: Path) -> None:
    w = build(
        tmp_path,
        {"s": scenario("s", "segment golds", "  send email mail", "  reentry after 1d")},
        segments={"golds": 'customer.rank == "gold"'},
    )
    w.customer("x", attributes={"rank": "silver"})
    w.tick(at(1, 10))  # baseline
    for hour, rank in ((11, "gold"), (12, "silver"), (13, "gold"), (14, "silver"), (15, "silver")):
        set_customer(w, "x", attributes={"rank": rank})
        w.tick(at(1, hour))
    set_customer(w, "x", attributes={"rank": "gold"})
    w.tick(at(2, 12))  # starts matching again, more than a day after the first enrollment finished
    w.tick(at(2, 13))  # still matching: not a new start
    assert [s[3] for s in w.sends("x")] == [at(1, 11), at(2, 12)]
    [refused] = w.decisions("x", "not_entered")
    assert refused["reason"].startswith("re-entry: cool-down until ") and until(refused["reason"]) == at(2, 11)


def test_events_from_before_the_deploy_do_not_enter_without_backfill(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.templates(template("mail"))
    w.write("scenarios/s.ecrm", scenario("s", "order.placed", "  send email mail"))
    w.customer("old")
    w.order("old", at(1, 10))  # the day before the deploy
    w.deploy(at(2, 10))
    w.customer("new")
    w.order("new", at(2, 10, 30))
    w.tick(at(2, 11))
    assert [s[0] for s in w.sends()] == ["new"]


@pytest.mark.parametrize("kind", ["event", "cron"])
def test_triggers_between_the_deploy_and_a_late_first_tick_are_not_lost(tmp_path: Path, kind: str) -> None:
    if kind == "event":
        w = build(tmp_path, {"s": scenario("s", "order.placed", "  send email mail")}, deploy_at=at(1, 0))
        w.customer("a")
        w.order("a", at(1, 10))
        w.tick(at(4, 10))  # the scheduler starts three days after the deploy
    else:
        w = build(
            tmp_path,
            {"s": scenario("s", 'schedule "0 10 * * 1" audience readers', "  send email mail", "  reentry always")},
            segments={"readers": "customer.email_opt_in == true"},
            deploy_at=at(3, 9),  # Monday 09:00; the schedule fires at 10:00
        )
        w.customer("a")
        w.tick(at(3, 10))  # the first tick is exactly at the fire time
    assert len(w.sends("a")) == 1


def test_entry_condition_is_judged_as_of_the_entry_event_when_catching_up(tmp_path: Path) -> None:
    f2 = scenario(
        "f2",
        "order.placed where customer.order_count == 1",
        "  day 1 at 10:00: send email mail",
        "  goal order.placed repeat within 30d",
        kind="sell",
        hypothesis="f2_rate",
    )
    running = build(tmp_path / "running", {"f2": f2})
    down = build(tmp_path / "down", {"f2": f2})
    for w, ticks in ((running, [at(1, 11), at(2, 11), at(3, 11), at(4, 11)]), (down, [at(1, 8), at(4, 11)])):
        w.customer("a")
        w.order("a", at(1, 10))
        w.order("a", at(3, 10))
        for moment in ticks:
            w.tick(moment)
    assert running.enrollment_status("a") == ["converted"]
    assert down.enrollment_status("a") == ["converted"]  # measured as an F2 conversion either way


# ============================================================================ idempotence and the clock


def test_rerunning_every_tick_changes_nothing(tmp_path: Path) -> None:
    body = (
        "  @ask after 1h: send email mail\n"
        "  @answer wait for survey.answered timeout 1d {\n    on event {\n      @sorry send line mail\n    }\n"
        "    on timeout {\n      @remind send email mail\n    }\n  }\n"
        "  @last day 3 at 10:00: send email mail"
    )
    w = build(
        tmp_path,
        {
            "s": scenario("s", "order.placed", body, "  reentry always"),
            "b": scenario("b", 'schedule "0 10 * * *" audience everyone', "  send email mail", "  reentry always"),
            "d": scenario("d", "date customer.birthday at 09:00 yearly", "  send email mail", "  reentry always"),
        },
        policies=with_caps("  - {channel: email, max: 1, per: 1d, on_exceed: defer}", "priority: [s, d, b]\n"),
        segments={"everyone": "customer.email_opt_in == true"},
    )
    for cid in "abc":
        w.customer(cid, birthday=dt.date(1990, 3, 2))
        w.order(cid, at(1, 20))
    w.event("a", "survey.answered", at(2, 12))
    # Quiet hours, the email cap, a wait heard and two timed out, cron and birthday fires, re-entry refusals.
    for moment in (at(1, 21), at(2, 9), at(2, 10), at(2, 13), at(2, 22), at(3, 10), at(4, 10), at(5, 12)):
        w.tick(moment)
        once = (outbox_rows(w), journal(w), enrollments(w))
        w.tick(moment)
        assert (outbox_rows(w), journal(w), enrollments(w)) == once, moment
    assert Counter((r[2], r[3]) for r in outbox_rows(w)) == Counter(
        {("s", "ask"): 3, ("s", "sorry"): 1, ("s", "remind"): 2, ("s", "last"): 3, ("d", "mail"): 3, ("b", "mail"): 1}
    )


@pytest.mark.parametrize("rule", ["", "  reentry always"])
def test_rerunning_a_tick_does_not_re_enter_segment_entrants(tmp_path: Path, rule: str) -> None:
    w = build(
        tmp_path,
        {"s": scenario("s", "segment golds", "  send email mail", rule)},
        segments={"golds": 'customer.rank == "gold"'},
    )
    w.customer("x", attributes={"rank": "silver"})
    w.tick(at(1, 10))
    set_customer(w, "x", attributes={"rank": "gold"})
    w.tick(at(1, 11))
    once = (outbox_rows(w), journal(w))
    w.tick(at(1, 11))  # the same tick again (a retried cron job, a restarted worker)
    assert (outbox_rows(w), journal(w)) == once


def test_a_tick_earlier_than_the_last_one_changes_nothing_later(tmp_path: Path) -> None:
    def run(root: Path, skew: bool) -> list[tuple[object, ...]]:
        w = build(
            root,
            {"s": scenario("s", "segment repeaters", "  send email mail", "  reentry always")},
            segments={"repeaters": "customer.order_count >= 2"},
        )
        w.customer("x")
        w.order("x", at(1, 9))
        w.order("x", at(1, 12))
        w.tick(at(1, 10))
        w.tick(at(1, 13))  # order_count reached 2 at 12:00: enters, gets the message
        if skew:
            try:
                w.tick(at(1, 11))  # the clock jumps back two hours
            except (ValueError, RuntimeError):
                pass  # refusing the tick is fine
        w.tick(at(1, 14))
        return [r[1:] for r in outbox_rows(w)]

    assert run(tmp_path / "skew", skew=True) == run(tmp_path / "steady", skew=False)


# ============================================================================ batching


def test_entries_and_steps_just_above_batch_sizes_run_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enroll_module, "BATCH", 7)
    monkeypatch.setattr(scheduler_module, "BATCH", 5)
    monkeypatch.setattr(dispatch_module, "BATCH", 4)
    body = (
        "  @one after 1h: send email mail\n"
        "  @ab split {\n    variant a 50 {\n      @ma send email mail\n    }\n"
        "    variant b 50 {\n      @mb send line mail\n    }\n  }\n"
        "  @last after 2d: send email mail"
    )
    w = build(tmp_path, {"s": scenario("s", "order.placed", body, "  goal order.placed repeat")})
    ids = [f"c{i:03d}" for i in range(22)]  # 3 entry batches of 7 + 1, 4 step batches of 5 + 2
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 11))
    bulk_orders(w, ids[:8], at(2, 10), prefix="repeat")  # 8 convert before 'last
    w.ticks(at(2, 11), at(4, 11), every=HOUR * 12)
    rows = outbox_rows(w)
    assert len(rows) == len({r[0] for r in rows}) == 22 * 2 + 14
    assert Counter(r[3] for r in rows)["last"] == 14
    assert statuses(w) == Counter({"completed": 14, "converted": 8})
    sink = tmp_path / "email.jsonl"
    adapters = {"email": FileAdapter("email", sink), "line": FileAdapter("line", tmp_path / "line.jsonl")}
    assert sum(Dispatcher(w.engine, adapters).run(at(4, 12)).values()) == len(rows)
    assert Dispatcher(w.engine, adapters).run(at(4, 13)) == Counter()


def test_a_backfill_settles_goals_of_early_entries(tmp_path: Path) -> None:
    """Backfilled entries older than the tick's look-back have their whole history checked."""
    body = "  @one day 1 at 10:00: send email mail\n  @two day 10 at 10:00: send email mail"
    w = World(tmp_path)
    w.templates(template("mail"))
    w.write("scenarios/s.ecrm", scenario("s", "order.placed", body, "  backfill 7d\n  goal order.placed repeat"))
    ids = [f"c{i}" for i in range(8)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(4, 10))  # five days before the deploy: inside the backfill
    bulk_orders(w, ids[:7], at(5, 10), prefix="repeat")  # seven of them bought again the next day
    w.deploy(at(9, 10))
    w.tick(at(9, 11))
    assert statuses(w) == Counter({"converted": 7, "active": 1})
    assert [r[1] for r in outbox_rows(w)] == ["c7"]  # the overdue 'one' goes out only to the one still in


def test_a_thousand_and_one_customers_in_one_tick(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(enroll_module, "BATCH", 1000)
    monkeypatch.setattr(scheduler_module, "BATCH", 500)
    w = build(tmp_path, {"s": scenario("s", "order.placed", "  after 1h: send email mail")})
    ids = [f"c{i:04d}" for i in range(1001)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    report = w.tick(at(1, 11))
    assert report.entered["s"] == 1001 and report.decisions["sent"] == 1001
    rows = outbox_rows(w)
    assert len(rows) == 1001 and {r[1] for r in rows} == set(ids)
    assert statuses(w) == Counter({"completed": 1001})


def test_a_crash_in_the_middle_of_a_step_batch_resumes_without_double_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scheduler_module, "BATCH", 3)
    w = build(tmp_path, {"s": scenario("s", "order.placed", "  after 1h: send email mail")})
    ids = [f"c{i}" for i in range(8)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    real_run = StepRunner.run
    calls = {"n": 0}

    def dies_on_second_batch(self: StepRunner, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("killed mid-tick")
        real_run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(StepRunner, "run", dies_on_second_batch)
    with pytest.raises(SystemExit):
        w.tick(at(1, 11))
    assert len(outbox_rows(w)) == 3  # the first batch committed, the second rolled back
    monkeypatch.setattr(StepRunner, "run", real_run)
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    assert sorted(r[1] for r in outbox_rows(w)) == ids
    assert all(len(w.decisions(cid, "sent")) == 1 for cid in ids)


# ============================================================================ holdout and A/B


def test_holdout_and_split_are_independent_and_the_holdout_still_converts(tmp_path: Path) -> None:
    body = (
        "  holdout 30%\n  @ab after 1h: split {\n    variant a 70 {\n      @ma send email mail\n    }\n"
        "    variant b 30 {\n      @mb send email mail\n    }\n  }"
    )
    w = build(tmp_path, {"s": scenario("s", "order.placed", body, "  goal order.placed repeat within 30d")})
    ids = [f"c{i:03d}" for i in range(400)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.tick(at(1, 10))
    with w.engine.connect() as conn:
        held = set(conn.execute(select(TABLES.enrollments.c.customer_id).where(TABLES.enrollments.c.holdout)).scalars())
    w.tick(at(1, 11))
    messaged = {r[1]: r[3] for r in outbox_rows(w)}
    assert 90 < len(held) < 150 and set(messaged) == set(ids) - held
    share_a = Counter(messaged.values())["ma"] / len(messaged)
    assert 0.62 < share_a < 0.78  # the split is in proportion among those actually messaged
    assert all(len(w.decisions(cid, "assigned")) == 1 for cid in sorted(held)[:5])  # the holdout is assigned too
    bulk_orders(w, sorted(held)[:10], at(3, 10), prefix="repeat")  # the holdout is measured: they convert
    w.tick(at(3, 11))
    assert all(w.enrollment_status(cid) == ["converted"] for cid in sorted(held)[:10])


def test_an_ab_variant_survives_a_move_deploy(tmp_path: Path) -> None:
    v1 = scenario(
        "s",
        "order.placed",
        "  @first after 1h: send email mail\n  @ab after 2d: split {\n    variant a 50 {\n      @ma send email mail\n"
        "    }\n    variant b 50 {\n      @mb send email mail\n    }\n  }",
    )
    ids = [f"c{i:02d}" for i in range(40)]
    worlds = {"ref": build(tmp_path / "ref", {"s": v1}), "moved": build(tmp_path / "moved", {"s": v1})}
    for w in worlds.values():
        bulk_customers(w, ids)
        bulk_orders(w, ids, at(1, 10))
        w.tick(at(1, 11))
    worlds["moved"].write("scenarios/s.ecrm", v1.replace("@first after 1h", "@first after 2h"))
    worlds["moved"].deploy(at(1, 12), in_flight="move")
    for w in worlds.values():
        w.tick(at(3, 12))
    variants = {name: {r[1]: r[3] for r in outbox_rows(w) if r[3] != "first"} for name, w in worlds.items()}
    assert variants["moved"] == variants["ref"] and len(variants["ref"]) == 40
    assert set(variants["ref"].values()) == {"ma", "mb"}


# ============================================================================ deploys with customers in flight


def test_move_keeps_waiting_for_event_customers_listening_and_records_the_new_version(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": wait_scenario("3d")}, (template("mail"), template("apology")))
    w.customer("a")
    w.event("a", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 10))
    old_hash = w.compile()["scenarios"][0]["hash"]
    w.write(
        "scenarios/s.ecrm",
        wait_scenario("3d", WAIT_BODY.replace("@sorry send email mail", "@sorry send email apology")),
    )
    new_hash = w.compile()["scenarios"][0]["hash"]
    report = w.deploy(at(1, 12), in_flight="move")
    assert report.moved == {"s": 1}
    w.event("a", "survey.answered", at(2, 10))
    w.tick(at(2, 11))
    with w.engine.connect() as conn:
        rows = conn.execute(
            select(TABLES.outbox.c.node_id, TABLES.outbox.c.template, TABLES.outbox.c.scenario_hash).order_by(
                TABLES.outbox.c.id
            )
        ).all()
    assert [tuple(r) for r in rows] == [("ask", "mail", old_hash), ("sorry", "apology", new_hash)]


def test_keep_lets_waiting_for_event_customers_finish_on_the_old_version(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": wait_scenario("3d")}, (template("mail"), template("apology")))
    w.customer("old")
    w.event("old", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 10))
    w.write(
        "scenarios/s.ecrm",
        wait_scenario("1d", WAIT_BODY.replace("@remind send email mail", "@remind send email apology")),
    )
    w.deploy(at(1, 12), in_flight="keep")
    w.customer("new")
    w.event("new", "order.shipped", at(1, 13), order_id="y")
    w.ticks(at(1, 13), at(5, 13), every=HOUR * 12)
    sends = {cid: [(s[1], s[3]) for s in w.sends(cid)] for cid in ("old", "new")}
    assert sends == {
        "old": [("ask", at(1, 10)), ("remind", at(4, 13))],  # the old 3d timeout, the old template
        "new": [("ask", at(1, 13)), ("remind", at(2, 13))],  # the new 1d timeout
    }
    with w.engine.connect() as conn:
        templates = conn.execute(
            select(TABLES.outbox.c.customer_id, TABLES.outbox.c.template).where(TABLES.outbox.c.node_id == "remind")
        ).all()
    assert sorted(tuple(t) for t in templates) == [("new", "apology"), ("old", "mail")]


def test_removing_a_scenario_refuses_move_and_keep_lets_its_customers_finish(tmp_path: Path) -> None:
    gone = scenario("gone", "order.placed", "  @one after 1h: send email mail\n  @two after 2d: send email mail")
    w = build(tmp_path, {"gone": gone, "other": scenario("other", "customer.signed_up", "  send email mail")})
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 11))
    (tmp_path / "project" / "scenarios" / "gone.ecrm").unlink()
    for choice in (None, "move", "retime"):
        with pytest.raises(DeployRefused, match="gone"):
            w.deploy(at(1, 12), in_flight=choice)
    assert w.count("deployments") == 1
    report = w.deploy(at(1, 12), in_flight="keep")
    assert report.kept == {"gone": 1}
    w.customer("b")
    w.order("b", at(2, 10))  # the removed scenario takes no new entries
    w.ticks(at(1, 13), at(4, 13), every=HOUR * 6)
    assert [(s[0], s[1]) for s in w.sends()] == [("a", "one"), ("a", "two")]
    assert w.enrollment_status("a") == ["completed"] and w.enrollment_status("b") == []


def test_keep_then_move_migrates_every_old_version(tmp_path: Path) -> None:
    body = "  @one after 1h: send email mail\n  @two after 2d: send email mail\n  @three after 2d: send email mail"
    v1 = scenario("s", "order.placed", body)
    w = build(tmp_path, {"s": v1})
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 12))
    w.write("scenarios/s.ecrm", v1.replace("@three after 2d", "@three after 3d"))
    w.deploy(at(1, 13), in_flight="keep")
    w.customer("b")
    w.order("b", at(1, 14))
    w.tick(at(1, 15))
    w.write("scenarios/s.ecrm", v1.replace("@three after 2d", "@three after 4d"))
    report = w.deploy(at(1, 16), in_flight="move")
    assert report.moved == {"s": 2}
    with w.engine.connect() as conn:
        assert len(set(conn.execute(select(TABLES.enrollments.c.scenario_hash)).scalars())) == 1
    w.ticks(at(1, 17), at(10, 17), every=HOUR * 12)
    assert [(s[0], s[1], s[3]) for s in w.sends() if s[1] == "three"] == [
        ("a", "three", at(7, 17)),
        ("b", "three", at(7, 17)),
    ]


def test_move_to_a_step_that_is_no_longer_a_wait_does_not_wedge_the_scheduler(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": wait_scenario("3d")})
    w.customer("a")
    w.event("a", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 11))
    w.write("scenarios/s.ecrm", scenario("s", "order.shipped", "  @ask send email mail\n  @answer send email mail"))
    try:
        w.deploy(at(1, 12), in_flight="move")
    except DeployRefused:
        return  # refusing is an acceptable answer
    w.ticks(at(1, 13), at(5, 13), every=HOUR * 12)
    assert sent_steps(w, "a") == ["ask", "answer"]
    assert w.enrollment_status("a") == ["completed"]


def test_move_after_reordering_steps_does_not_crash_on_the_idempotency_key(tmp_path: Path) -> None:
    v1 = scenario(
        "s", "order.placed", "  @a send email mail\n  @b after 1d: send email mail\n  @c after 1d: send email mail"
    )
    v2 = scenario(
        "s", "order.placed", "  @c send email mail\n  @b after 1d: send email mail\n  @a after 1d: send email mail"
    )
    w = build(tmp_path, {"s": v1})
    w.customer("x")
    w.order("x", at(1, 10))
    w.ticks(at(1, 11), at(2, 12), every=HOUR * 6)  # a and b were sent; waiting at c
    w.write("scenarios/s.ecrm", v2)
    try:
        w.deploy(at(2, 13), in_flight="move")
    except DeployRefused:
        return
    w.ticks(at(2, 14), at(6, 14), every=HOUR * 6)
    assert w.enrollment_status("x") == ["completed"]
    assert len(outbox_rows(w)) == len({r[0] for r in outbox_rows(w)})


def test_retime_recomputes_the_deadline_of_a_wait_for_an_event(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": wait_scenario("7d")})
    w.customer("a")
    w.event("a", "order.shipped", at(1, 10), order_id="x")
    w.tick(at(1, 10))
    w.write("scenarios/s.ecrm", wait_scenario("2d"))
    w.deploy(at(1, 12), in_flight="retime")
    w.ticks(at(1, 13), at(9, 13), every=HOUR * 12)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("ask", at(1, 10)), ("remind", at(3, 13))]


def test_kept_versions_obey_the_current_policies(tmp_path: Path) -> None:
    v1 = scenario("s", "order.placed", "  @one after 1h: send email mail\n  @two after 1d: send email mail")
    w = build(tmp_path, {"s": v1})
    w.customer("a")
    w.order("a", at(1, 19, 30))
    w.tick(at(1, 20, 30))  # one goes at 20:30 (before quiet hours); two is due 20:30 tomorrow
    w.write("policies.yaml", with_quiet('{start: "20:00", end: "09:00"}'))
    w.write("scenarios/s.ecrm", v1.replace("after 1d", "after 25h"))
    w.deploy(at(2, 12), in_flight="keep")
    w.ticks(at(2, 13), at(3, 10), every=dt.timedelta(minutes=30))
    assert [(s[1], s[3]) for s in w.sends("a")] == [("one", at(1, 20, 30)), ("two", at(3, 9))]


# ============================================================================ explain


def test_explain_prints_the_timeline_in_the_shops_timezone_from_the_cli(tmp_path: Path) -> None:
    la = ZoneInfo("America/Los_Angeles")
    w = build(
        tmp_path,
        {
            "s": scenario(
                "s", "order.placed", "  @d1 day 1 at 10:00: send email mail", "  goal order.placed repeat within 30d"
            )
        },
        policies=POLICIES.replace("Asia/Tokyo", str(la)),
    )
    w.customer("a")
    w.order("a", dt.datetime(2025, 3, 8, 12, 0, tzinfo=la))  # 20:00Z
    w.tick(dt.datetime(2025, 3, 8, 21, tzinfo=UTC))
    w.tick(dt.datetime(2025, 3, 9, 17, tzinfo=UTC))  # 10:00 PDT (after the switch)
    w.order("a", dt.datetime(2025, 3, 9, 23, 0, tzinfo=la))  # 2025-03-10T06:00Z: another day in UTC
    w.tick(dt.datetime(2025, 3, 10, 7, tzinfo=UTC))
    result = CliRunner().invoke(cli, ["explain", "a", "--store", w.store])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "customer a — times in America/Los_Angeles",
        "  2025-03-08 12:00  s: entered",
        "  2025-03-09 10:00  s d1: sent — email [pending]",
        "  2025-03-09 10:00  s: completed — reached the end of the scenario",
        "  2025-03-09 23:00  s: CONVERTED — goal order.placed",
        "  2025-03-09 23:00  s: not entered — re-entry: never",
    ]


def test_explain_states_deferral_times_in_shop_time(tmp_path: Path) -> None:
    w = build(
        tmp_path,
        {
            "s": scenario("s", "order.placed", "  after 1h: send email mail"),
            "t": scenario("t", "customer.signed_up", "  send email mail"),
        },
        policies=with_caps("  - {channel: email, max: 1, per: 1d, on_exceed: defer}"),
    )
    w.customer("a")
    w.order("a", at(1, 21))
    w.tick(at(1, 22).astimezone(UTC))  # as `ecrm run` does: the tick's time in UTC
    w.tick(at(2, 9).astimezone(UTC))
    w.event("a", "customer.signed_up", at(2, 10))
    w.tick(at(2, 10))  # even a tick given in JST: the cap's 'until' comes out in UTC
    w.tick(at(3, 9))
    with w.engine.connect() as conn:
        text = explain(conn, "a", "Asia/Tokyo")
    deferrals = [line for line in text.splitlines() if "deferred" in line]
    assert len(deferrals) == 2, text
    assert "+00:00" not in text
    for line, day in zip(deferrals, (2, 3), strict=True):  # ISO with +09:00, or plain shop time
        assert f"2025-03-0{day}T09:00:00+09:00" in line or line.endswith(f"until 2025-03-0{day} 09:00"), line


# ============================================================================ ecrm run


def test_ecrm_run_stops_cleanly_on_sigterm_and_leaves_a_consistent_store(tmp_path: Path) -> None:
    now = dt.datetime.now(UTC)
    w = build(
        tmp_path,
        {"s": scenario("s", "order.placed", "  send email notice")},
        (template("notice", category="transactional"),),  # transactional: no quiet hours, whatever the hour
        deploy_at=now - HOUR * 2,
    )
    w.customer("a")
    w.order("a", now - HOUR)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECRM_")}
    env["ECRM_DEMO_OUTBOX"] = str(tmp_path / "outbox")
    process = subprocess.Popen(
        [sys.executable, "-m", "ecrm_dsl", "run", "--interval", "1", "--store", w.store],
        cwd=tmp_path / "project",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        with selectors.DefaultSelector() as waiting:
            waiting.register(process.stdout, selectors.EVENT_READ)
            assert waiting.select(timeout=30), "ecrm run printed nothing within 30 s"
        first = process.stdout.readline()  # the first tick's summary: the loop is running
        assert "deliveries: delivered 1 " in first, first
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "SIGTERM received" in err and err.rstrip().endswith("ecrm run: stopped")
    with w.engine.connect() as conn:
        assert list(conn.execute(select(TABLES.outbox.c.status)).scalars()) == ["sent"]
        assert w.enrollment_status("a") == ["completed"]
        state = TABLES.scheduler_state
        assert conn.execute(select(state.c.value).where(state.c.key == "last_tick")).scalar_one() is not None
    lines = (tmp_path / "outbox" / "email.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
