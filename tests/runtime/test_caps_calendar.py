"""Frequency caps as planners mean them, on real SQLite: ``per: 1d`` is the shop's calendar day and ``per: 24h``
a rolling window; a plan compiled before the distinction keeps the rolling meaning; deferral goes to the start
of the next window."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm_dsl.plan.document import canonical_json, load_plan
from ecrm_dsl.plan.project import FrequencyCap
from ecrm_dsl.review.diff_plans import diff_plans
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.policy import CapWindow, Reservation, check_caps
from tests.runtime.world import JST, POLICIES, World, template

HOUR = dt.timedelta(hours=1)
NO_QUIET = POLICIES.replace('quiet_hours: {start: "21:00", end: "09:00"}\n', "")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def caps(line: str, policies: str = NO_QUIET) -> str:
    return policies.replace("  - {channel: all, max: 3, per: 1d, on_exceed: defer}", line)


def two_mails(tmp_path: Path, policies: str, gap: str = "after 1h") -> World:
    """One scenario: a mail an hour after the order, and another ``gap`` later."""
    w = World(tmp_path)
    w.templates(template("first"), template("second"))
    w.write(
        "scenarios/two.ecrm",
        'scenario two {\n  kind nurture\n  hypothesis engagement "t"\n  when order.placed\n\n'
        f"  after 1h: send email first\n  {gap}: send email second\n}}\n",
    )
    w.write("policies.yaml", policies)
    return w


def test_one_a_day_frees_the_slot_at_the_shops_midnight_not_24_hours_later(tmp_path: Path) -> None:
    w = two_mails(tmp_path, caps("  - {channel: email, max: 1, per: 1d, on_exceed: defer}"))
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 8, 30))
    w.ticks(at(1, 9, 30), at(2, 12, 30), every=HOUR / 2)
    # Midnight in Tokyo is 15:00 UTC: the day is the shop's, not the server's.
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 9, 30)), ("second", at(2, 0))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["reason"] == "frequency cap: 1 per 1d on email, until 2025-03-02T00:00:00+09:00"


def test_a_cap_written_in_hours_is_a_rolling_window(tmp_path: Path) -> None:
    w = two_mails(tmp_path, caps("  - {channel: email, max: 1, per: 24h, on_exceed: defer}"))
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 8, 30))
    w.ticks(at(1, 9, 30), at(2, 12, 30), every=HOUR / 2)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 9, 30)), ("second", at(2, 9, 30))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["reason"] == "frequency cap: 1 per 24h on email, until 2025-03-02T09:30:00+09:00"


def test_two_days_are_the_previous_and_the_current_calendar_day(tmp_path: Path) -> None:
    w = two_mails(tmp_path, caps("  - {channel: email, max: 1, per: 2d, on_exceed: defer}"))
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 22))  # the first mail at 23:00 on the 1st: the 2nd still shares a window with it
    w.ticks(at(1, 23), at(3, 12))
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 23)), ("second", at(3, 0))]


def test_a_deferral_into_quiet_hours_goes_when_both_allow(tmp_path: Path) -> None:
    w = two_mails(tmp_path, caps("  - {channel: email, max: 1, per: 1d, on_exceed: defer}", POLICIES))
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 10), at(2, 12))
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 10)), ("second", at(2, 9))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["reason"] == (
        "frequency cap: 1 per 1d on email, open again 2025-03-02T00:00:00+09:00 in quiet hours, "
        "until 2025-03-02T09:00:00+09:00"
    )


def test_the_plan_says_which_window_and_a_plan_from_before_keeps_the_rolling_meaning(tmp_path: Path) -> None:
    policies = caps(
        "  - {channel: email, max: 1, per: 1d, on_exceed: defer}\n"
        "  - {channel: all, max: 5, per: 168h, on_exceed: skip}\n"
        "  - {channel: line, max: 2, per: 1w, on_exceed: skip}"
    )
    w = two_mails(tmp_path, policies)
    compiled = w.compile()
    assert [(c["per_seconds"], c["window"]) for c in compiled["policies"]["frequency_caps"]] == [
        (86400, "calendar"),
        (604800, "rolling"),
        (604800, "calendar"),
    ]
    old = json.loads(json.dumps(compiled))
    for cap in old["policies"]["frequency_caps"]:
        del cap["window"]  # what ecrm-dsl wrote before calendar caps
    plan = load_plan(canonical_json(old), "old-plan.json")  # still a valid version-1 plan
    assert plan.to_json() == old  # and its bytes never change
    assert [c.window for c in plan.policies.frequency_caps] == [None, None, None]
    deploy(w.engine, plan, at(1, 0))
    w.customer("a")
    w.order("a", at(1, 8, 30))
    w.ticks(at(1, 9, 30), at(2, 12, 30), every=HOUR / 2)
    assert [(s[1], s[3]) for s in w.sends("a")] == [("first", at(1, 9, 30)), ("second", at(2, 9, 30))]


def test_a_plan_with_an_unknown_window_is_refused_with_its_path(tmp_path: Path) -> None:
    w = two_mails(tmp_path, caps("  - {channel: email, max: 1, per: 1d, on_exceed: defer}"))
    compiled = w.compile()
    compiled["policies"]["frequency_caps"][0]["window"] = "monthly"
    try:
        load_plan(canonical_json(compiled), "plan.json")
    except ValueError as error:
        assert "plan.json: $.policies.frequency_caps[0].window:" in str(error)
    else:
        raise AssertionError("a plan with an unknown cap window was loaded")


def test_windows_with_messages_still_to_come_need_room_in_every_window_that_holds_the_send() -> None:
    """Pure policy: reservations count in each window that holds the new message, and only there."""
    day = FrequencyCap("all", 2, 86400, "defer", "calendar")
    rolling = FrequencyCap("all", 2, 86400, "defer", "rolling")
    now = at(2, 12)
    past = [("email", at(1, 20))]
    tomorrow = [Reservation("email", at(3, 8), "high", "h")]
    later_today = [Reservation("email", at(2, 18), "high", "h")]
    # Calendar: yesterday's mail is in another day; today has room for one more besides the 18:00 one.
    assert check_caps("email", past, now, [day], "Asia/Tokyo", later_today).action == "send"
    # Rolling: 20:00 yesterday, now, and 08:00 tomorrow fit no 24 hours with more than two of them.
    assert check_caps("email", past, now, [rolling], "Asia/Tokyo", tomorrow).action == "send"
    # But 20:00 yesterday, now and 18:00 today would be three in 24 hours: the slot is kept for the 18:00 one.
    verdict = check_caps("email", past, now, [rolling], "Asia/Tokyo", later_today)
    assert (verdict.action, verdict.cause, verdict.until) == ("defer", "priority", at(2, 20))
    assert verdict.reason == (
        "frequency cap: 2 per 24h on all, kept for higher-priority high (h at 2025-03-02T18:00:00+09:00)"
    )


def test_ecrm_diff_tells_a_rolling_day_from_a_calendar_day(tmp_path: Path) -> None:
    rolling = two_mails(tmp_path / "rolling", caps("  - {channel: all, max: 1, per: 24h, on_exceed: defer}")).compile()
    calendar = two_mails(tmp_path / "calendar", caps("  - {channel: all, max: 1, per: 1d, on_exceed: defer}")).compile()
    changed = diff_plans(rolling, calendar)
    assert [c.text for c in changed.changes] == [
        "frequency cap all per 1d: counted over a rolling window → by calendar day"
    ]
    uncapped = {**rolling, "policies": {**rolling["policies"], "frequency_caps": []}}
    assert [c.text for c in diff_plans(rolling, uncapped).changes] == [
        "frequency cap removed: all: at most 1 per 24h, then defer"
    ]


@settings(max_examples=300, deadline=None)
@given(
    days=st.integers(1, 8),
    most=st.integers(0, 4),
    offsets=st.lists(st.integers(-14 * 24, 14 * 24), max_size=12),
    moment=st.integers(0, 23),
)
def test_a_calendar_window_fits_exactly_when_every_window_holding_the_day_has_room(
    days: int, most: int, offsets: list[int], moment: int
) -> None:
    """The sliding count agrees with the definition: each run of ``days`` shop days that holds the moment's day
    has fewer than ``max`` messages."""
    window = CapWindow(FrequencyCap("all", most, days * 86400, "defer", "calendar"), ZoneInfo("Asia/Tokyo"))
    now = at(15, moment)
    times = [at(15, 0) + dt.timedelta(hours=h) for h in offsets]
    today = now.astimezone(JST).date()
    per_day = Counter(t.astimezone(JST).date() for t in times)
    expected = all(
        sum(per_day[today - dt.timedelta(days=back) + dt.timedelta(days=d)] for d in range(days)) < most
        for back in range(days)
    )
    assert window.fits(times, now) is expected
