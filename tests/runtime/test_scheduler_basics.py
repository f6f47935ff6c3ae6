"""The F2 step mail end to end on a real SQLite store: entry, day N at HH:MM, goal ends the enrollment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tests.runtime.world import JST, World, template

F2 = """scenario f2 "F2" {
  kind sell
  hypothesis f2_rate "test"
  when order.placed where customer.order_count == 1
  goal order.placed repeat within 30d

  day 1 at 10:00: send email thanks
  day 7 at 10:00 if orders_since_entry == 0: send line coupon fallback email
}
"""


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    w.templates(template("thanks"), template("coupon"))
    w.write("scenarios/f2.ecrm", F2)
    w.deploy(dt.datetime(2025, 3, 1, 0, 0, tzinfo=JST))
    return w


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=JST)


def test_day_n_at_time_in_shop_timezone_even_for_late_entries(world: World) -> None:
    world.customer("a")
    world.customer("b")
    world.order("a", at(1, 9, 30))
    world.order("b", at(1, 23, 30))  # entered after 10:00 JST (14:30 UTC)
    world.ticks(at(1, 9), at(9, 12))
    assert world.sends() == [
        ("a", "thanks", "email", at(2, 10)),
        ("b", "thanks", "email", at(2, 10)),
        ("a", "coupon", "line", at(8, 10)),
        ("b", "coupon", "line", at(8, 10)),
    ]


def test_a_repeat_purchase_between_ticks_ends_the_enrollment(world: World) -> None:
    world.customer("a")
    world.order("a", at(1, 9, 30))
    world.ticks(at(1, 10), at(3, 10), every=dt.timedelta(days=1))
    world.order("a", at(5, 12))  # the repeat purchase lands between two ticks
    world.ticks(at(5, 10), at(12, 10), every=dt.timedelta(days=1))
    assert [s[1] for s in world.sends("a")] == ["thanks"]
    assert world.enrollment_status("a") == ["converted"]
    [converted] = world.decisions("a", "converted")
    assert converted["at"].astimezone(JST) == at(5, 12)


def test_the_entry_order_is_not_a_repeat_purchase(world: World) -> None:
    world.customer("a")
    world.order("a", at(1, 9, 30))
    world.ticks(at(1, 10), at(9, 10), every=dt.timedelta(hours=6))
    assert world.enrollment_status("a") == ["completed"]
    assert [s[1] for s in world.sends("a")] == ["thanks", "coupon"]
