"""The event-triggered scenarios read the changed customers' new events once per tick, all types together, not
once each: every scenario still takes exactly the events of its own window that it has not handled, as if it had
searched alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecrm_dsl.runtime import enroll as enroll_module
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.test_tick_entries import BODY, entered, watching
from tests.runtime.world import World

FIRST_ORDERS = scenario("firsts", "order.placed where customer.order_count == 1", BODY)
EVERY_ORDER = scenario("orders", "order.placed", BODY)
CARTS = scenario("carts", "cart.abandoned", BODY)


def steady(tmp_path: Path, scenarios: dict[str, str]) -> World:
    """Deployed on the 1st at 00:00, past two ticks: the next tick reads only what the change log names."""
    w = build(tmp_path, scenarios)
    for cid in ("客A", "客B", "客C"):
        w.customer(cid)
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    return w


def test_two_scenarios_on_one_type_read_its_events_once_and_enter_as_alone(tmp_path: Path) -> None:
    w = steady(tmp_path, {"firsts": FIRST_ORDERS, "orders": EVERY_ORDER, "carts": CARTS})
    w.order("客A", at(1, 11, 10))
    w.order("客B", at(1, 11, 20))
    w.order("客B", at(1, 11, 40))  # B's second order: "firsts" takes only the first
    w.event("客C", "cart.abandoned", at(1, 11, 30), cart_id="カート")
    with watching(w) as statements:
        w.tick(at(1, 12))
    assert statements.searches() == [["cart.abandoned", "order.placed"]]  # every type in one read
    assert sorted(entered(w)) == [
        ("客A", "firsts", at(1, 11, 10)),
        ("客A", "orders", at(1, 11, 10)),
        ("客B", "firsts", at(1, 11, 20)),
        ("客B", "orders", at(1, 11, 20)),
        ("客C", "carts", at(1, 11, 30)),
    ]
    [refused] = w.decisions("客B", "not_entered")  # in "orders" already: never twice at once
    assert refused["scenario_id"] == "orders" and refused["at"] == at(1, 11, 40)
    w.order("客C", at(1, 12, 30))
    w.tick(at(1, 13))  # nothing read before is taken again by either scenario
    assert sorted(entered(w)[5:]) == [("客C", "firsts", at(1, 12, 30)), ("客C", "orders", at(1, 12, 30))]


def test_each_scenario_keeps_its_own_window_and_what_it_has_handled(tmp_path: Path) -> None:
    """``late`` enters a deploy after ``orders``: an order before its first look is not its own, though the
    shared read returns it (``orders`` has not handled it yet). A late arrival inside both windows enters both."""
    w = steady(tmp_path, {"orders": EVERY_ORDER})
    w.write("scenarios/late.ecrm", scenario("late", "order.placed", BODY))
    w.deploy(at(1, 11, 30))
    w.tick(at(1, 11, 45))  # the first look of "late", and the first tick after a deploy
    w.tick(at(1, 11, 50))
    w.order("客A", at(1, 11, 20))  # before "late" was deployed, stored only now
    w.order("客B", at(1, 11, 55))
    with watching(w) as statements:
        w.tick(at(1, 12))
    assert statements.searches() == [["order.placed"]]
    assert sorted(entered(w)) == [
        ("客A", "orders", at(1, 11, 20)),
        ("客B", "late", at(1, 11, 55)),
        ("客B", "orders", at(1, 11, 55)),
    ]
    w.order("客C", at(1, 11, 58))  # a late arrival: inside both windows, handled by neither
    w.order("客A", at(1, 12, 30))  # 客A changes again: the order of 11:20, handled by "orders" alone, is read again
    w.tick(at(1, 13))
    assert sorted(entered(w)[3:]) == [
        ("客A", "late", at(1, 12, 30)),
        ("客C", "late", at(1, 11, 58)),
        ("客C", "orders", at(1, 11, 58)),
    ]
    [refused] = w.decisions("客A", "not_entered")  # in "orders" already; its order of 11:20 is not taken twice
    assert refused["scenario_id"] == "orders" and refused["at"] == at(1, 12, 30)


def test_more_new_events_than_a_batch_are_searched_by_each_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enroll_module, "BATCH", 1)  # two new orders: more than the shared read takes
    w = steady(tmp_path, {"firsts": FIRST_ORDERS, "orders": EVERY_ORDER})
    w.order("客A", at(1, 11, 10))
    w.order("客B", at(1, 11, 20))
    with watching(w) as statements:
        w.tick(at(1, 12))
    # The shared read, then each scenario's pages: one per event, and a last one that finds nothing.
    assert statements.searches() == [["order.placed"]] * 7
    assert sorted(entered(w)) == [
        ("客A", "firsts", at(1, 11, 10)),
        ("客A", "orders", at(1, 11, 10)),
        ("客B", "firsts", at(1, 11, 20)),
        ("客B", "orders", at(1, 11, 20)),
    ]
