"""Priority decides a capped slot across the cap's window, not only within one tick: a lower-priority send that
falls due first leaves the slot to a higher-priority send already scheduled in the window — unless that send
cannot happen (holdout, a guard false now, no reachable channel, a transactional message). Real SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import event

from ecrm_dsl.demo.summary import scenario_table
from ecrm_dsl.runtime.assign import in_holdout
from tests.runtime.world import JST, POLICIES, World, template

ONE_A_DAY = POLICIES.replace(
    "  - {channel: all, max: 3, per: 1d, on_exceed: defer}", "  - {channel: all, max: 1, per: 1d, on_exceed: defer}"
)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def scenario(name: str, step: str, extra: str = "") -> str:
    return (
        f'scenario {name} {{\n  kind nurture\n  hypothesis engagement "t"\n  when order.placed\n{extra}\n  {step}\n}}\n'
    )


def shop(
    tmp_path: Path,
    high_step: str = "after 5h: send email high_mail",
    *,
    policies: str = ONE_A_DAY,
    priority: str | None = "priority: [high, low]\n",
    high_extra: str = "",
    templates: tuple[str, ...] = (),
) -> World:
    """``low`` sends an hour after an order (10:00 for a 09:00 order); ``high`` later the same day (14:00)."""
    w = World(tmp_path)
    w.templates(template("low_mail"), *(templates or (template("high_mail"),)))
    w.write("scenarios/low.ecrm", scenario("low", "after 1h: send email low_mail"))
    w.write("scenarios/high.ecrm", scenario("high", high_step, high_extra))
    w.write("policies.yaml", policies + (priority or ""))
    w.deploy(at(1, 0))
    return w


def steps_sent(w: World, cid: str) -> list[tuple[str, dt.datetime]]:
    return [(s[1], s[3]) for s in w.sends(cid)]


def test_the_higher_priority_send_later_in_the_day_keeps_the_slot(tmp_path: Path) -> None:
    w = shop(tmp_path)
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 10), at(2, 12))
    assert steps_sent(w, "a") == [("high_mail", at(1, 14)), ("low_mail", at(2, 9))]
    [deferred] = w.decisions("a", "deferred")
    assert deferred["scenario_id"] == "low" and deferred["detail"]["cause"] == "priority"
    assert deferred["reason"] == (
        "frequency cap: 1 per 1d on all, kept for higher-priority high (high_mail at 2025-03-01T14:00:00+09:00), "
        "open again 2025-03-02T00:00:00+09:00 in quiet hours, until 2025-03-02T09:00:00+09:00"
    )


def test_without_a_priority_between_them_the_first_due_takes_the_slot(tmp_path: Path) -> None:
    w = shop(tmp_path, priority=None)
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 10), at(2, 12))
    assert steps_sent(w, "a") == [("low_mail", at(1, 10)), ("high_mail", at(2, 9))]
    assert [d["detail"]["cause"] for d in w.decisions("a", "deferred")] == ["frequency_cap"]


def test_a_send_scheduled_for_another_day_keeps_nothing_today(tmp_path: Path) -> None:
    w = shop(tmp_path, high_step="day 1 at 14:00: send email high_mail")
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 10), at(2, 15))
    assert steps_sent(w, "a") == [("low_mail", at(1, 10)), ("high_mail", at(2, 14))]


def test_skip_drops_the_lower_priority_send_with_the_priority_cause(tmp_path: Path) -> None:
    w = shop(tmp_path, policies=ONE_A_DAY.replace("on_exceed: defer", "on_exceed: skip"))
    w.customer("a")
    w.order("a", at(1, 9))
    w.customer("b")
    w.order("b", at(1, 9, 30))
    w.ticks(at(1, 10), at(2, 12))
    assert steps_sent(w, "a") == [("high_mail", at(1, 14))]
    [skipped] = w.decisions("a", "skipped")
    assert skipped["scenario_id"] == "low" and skipped["detail"]["cause"] == "priority"
    assert skipped["reason"].startswith("frequency cap: 1 per 1d on all, kept for higher-priority high")
    with w.engine.connect() as conn:  # the demo's table groups them, whatever time each was kept for
        table = scenario_table(conn)
    assert "skipped because: frequency cap: 1 per 1d on all, kept for higher-priority high (2)" in table


def test_holdout_members_of_the_higher_scenario_reserve_nothing(tmp_path: Path) -> None:
    w = shop(tmp_path, high_extra="  holdout 50%")
    customers = [f"c{i:02d}" for i in range(40)]
    for cid in customers:
        w.customer(cid)
        w.order(cid, at(1, 9))
    w.ticks(at(1, 10), at(2, 12))
    held = {cid for cid in customers if in_holdout(cid, "high", 50)}
    assert 5 < len(held) < 35
    for cid in customers:
        if cid in held:  # high never messages them, so low has the day
            assert steps_sent(w, cid) == [("low_mail", at(1, 10))]
        else:
            assert steps_sent(w, cid) == [("high_mail", at(1, 14)), ("low_mail", at(2, 9))]


def test_a_guard_that_is_false_now_reserves_nothing(tmp_path: Path) -> None:
    w = shop(tmp_path, high_step='after 5h if customer.rank == "gold": send email high_mail')
    w.customer("gold", attributes={"rank": "gold"})
    w.customer("silver", attributes={"rank": "silver"})
    for cid in ("gold", "silver"):
        w.order(cid, at(1, 9))
    w.ticks(at(1, 10), at(2, 12))
    assert steps_sent(w, "gold") == [("high_mail", at(1, 14)), ("low_mail", at(2, 9))]
    assert steps_sent(w, "silver") == [("low_mail", at(1, 10))]


def test_a_send_that_cannot_reach_the_customer_or_is_transactional_reserves_nothing(tmp_path: Path) -> None:
    line_only = tmp_path / "line"
    w = shop(
        line_only, high_step="after 5h: send line high_mail", templates=(template("high_mail", channels=("line",)),)
    )
    w.customer("no_line", line_opt_in=False)
    w.customer("on_line")
    for cid in ("no_line", "on_line"):
        w.order(cid, at(1, 9))
    w.ticks(at(1, 10), at(1, 15))
    assert steps_sent(w, "no_line") == [("low_mail", at(1, 10))]
    assert steps_sent(w, "on_line") == [("high_mail", at(1, 14))]

    notice = shop(tmp_path / "notice", templates=(template("high_mail", category="transactional"),))
    notice.customer("a")
    notice.order("a", at(1, 9))
    notice.ticks(at(1, 10), at(1, 15))
    assert steps_sent(notice, "a") == [("low_mail", at(1, 10)), ("high_mail", at(1, 14))]


def test_a_per_channel_cap_keeps_only_slots_on_its_channel(tmp_path: Path) -> None:
    email_cap = ONE_A_DAY.replace("channel: all", "channel: email")
    w = shop(
        tmp_path,
        high_step="after 5h: send line high_mail",
        policies=email_cap,
        templates=(template("high_mail", channels=("line",)),),
    )
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 10), at(1, 15))
    assert steps_sent(w, "a") == [("low_mail", at(1, 10)), ("high_mail", at(1, 14))]


def test_reservations_are_read_for_a_whole_batch_at_once(tmp_path: Path) -> None:
    """The same tick for 1 customer and for 60 runs the same number of SQL statements."""

    def statements_at_ten(customers: int, root: Path) -> int:
        w = shop(root)
        for i in range(customers):
            w.customer(f"c{i}")
            w.order(f"c{i}", at(1, 9))
        w.tick(at(1, 9, 30))  # enter
        seen: list[str] = []

        def count(*args: Any) -> None:
            seen.append(args[2])

        event.listen(w.engine, "before_cursor_execute", count)
        w.tick(at(1, 10))
        event.remove(w.engine, "before_cursor_execute", count)
        assert len(w.decisions("c0", "deferred")) == 1
        return len(seen)

    assert statements_at_ten(1, tmp_path / "one") == statements_at_ten(60, tmp_path / "many")
