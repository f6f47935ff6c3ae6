"""The entry side of a tick: the trigger bookkeeping of every scenario read in one statement and written in one,
the changed customers' new events of every type read in one search (late arrivals still found), and all of a
tick's entries in one transaction."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from ecrm_dsl.runtime import enroll as enroll_module
from ecrm_dsl.store import changes
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

BODY = "  day 3: send email mail"
EVENT_SCENARIOS = {
    "ordered": scenario("ordered", "order.placed", BODY),
    "carts": scenario("carts", "cart.abandoned", BODY),
}


class Statements:
    """Every statement a store runs while watched, with its parameters by name (the same on both backends)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def record(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        # A statement sent through the driver (bulk writes) has no compiled parameters.
        compiled = getattr(context, "compiled_parameters", None)
        named = compiled[0] if compiled else {}
        self.seen.append((" ".join(statement.split()), dict(named)))

    def searches(self) -> list[list[str]]:
        """The event types each search for new triggers reads (one candidate query each): one type when a
        scenario pages through its own, every type the scenarios search when the changed customers' new events
        are read for all of them at once."""
        found = []
        for sql, p in self.seen:
            if "LEFT OUTER JOIN orders" not in sql:
                continue
            if "event_type" in p:
                found.append([p["event_type"]])
            elif "types" in p:  # one parameter: a JSON array on SQLite, an array on PostgreSQL
                found.append(sorted(json.loads(p["types"]) if isinstance(p["types"], str) else p["types"]))
        return found

    def touching(self, table: str, verb: str) -> int:
        return sum(1 for sql, _ in self.seen if sql.startswith(verb) and f"{table}" in sql.split(" WHERE ")[0])


@contextmanager
def watching(w: World) -> Iterator[Statements]:
    statements = Statements()
    event.listen(w.engine, "before_cursor_execute", statements.record)
    try:
        yield statements
    finally:
        event.remove(w.engine, "before_cursor_execute", statements.record)


def entered(w: World) -> list[tuple[str, str, dt.datetime]]:
    """(customer, scenario, entry time) of every enrollment, in order."""
    e = TABLES.enrollments.c
    with w.engine.connect() as conn:
        rows = conn.execute(select(e.customer_id, e.scenario_id, e.entered_at).order_by(e.id)).all()
    return [(r.customer_id, r.scenario_id, r.entered_at) for r in rows]


def watermarks(w: World) -> dict[str, dt.datetime]:
    s = TABLES.trigger_state.c
    with w.engine.connect() as conn:
        return {r.scenario_id: r.watermark for r in conn.execute(select(s.scenario_id, s.watermark))}


def steady(tmp_path: Path, scenarios: dict[str, str] = EVENT_SCENARIOS) -> World:
    """A deployed world past its first two ticks, so the next tick is scoped to the change log."""
    w = build(tmp_path, scenarios)
    w.customer("客A")
    w.customer("客B")
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    return w


def test_the_bookkeeping_of_every_scenario_is_read_once_and_written_once(tmp_path: Path) -> None:
    birthdays = scenario("birthdays", "date customer.birthday at 09:00 yearly", BODY)
    w = steady(tmp_path, {**EVENT_SCENARIOS, "birthdays": birthdays})
    w.order("客A", at(1, 11, 30))
    with watching(w) as statements:
        w.tick(at(1, 12))
    assert statements.touching("trigger_state", "SELECT") == 1
    assert statements.touching("trigger_state", "UPDATE") == 1
    assert watermarks(w) == {"ordered": at(1, 12), "carts": at(1, 12), "birthdays": at(1, 12)}
    assert entered(w) == [("客A", "ordered", at(1, 11, 30))]


def test_the_changed_customers_new_events_of_every_type_are_read_in_one_search(tmp_path: Path) -> None:
    w = steady(tmp_path)
    w.order("客A", at(1, 11, 30))
    with watching(w) as statements:
        w.tick(at(1, 12))
    assert statements.searches() == [["cart.abandoned", "order.placed"]]  # not one search per type
    with watching(w) as statements:
        w.tick(at(1, 13))  # nobody changed: no search at all
    assert statements.searches() == []
    assert entered(w) == [("客A", "ordered", at(1, 11, 30))]


def test_a_late_arriving_event_still_enters_on_the_next_tick(tmp_path: Path) -> None:
    w = steady(tmp_path)
    w.tick(at(1, 12))
    # Abandoned at 11:40, stored only after the tick of 12:00 (a slow webhook): the next tick finds it.
    w.event("客B", "cart.abandoned", at(1, 11, 40), cart_id="カート1")
    with watching(w) as statements:
        w.tick(at(1, 13))
    assert statements.searches() == [["cart.abandoned", "order.placed"]]
    assert entered(w) == [("客B", "carts", at(1, 11, 40))]
    w.tick(at(1, 14))
    assert entered(w) == [("客B", "carts", at(1, 11, 40))]  # once, however often it is looked at


def test_events_outside_the_window_a_search_reads_enter_nobody(tmp_path: Path) -> None:
    w = steady(tmp_path)
    w.tick(at(4, 10))
    late = w.scheduler.late_arrival
    w.event("客B", "cart.abandoned", at(4, 10) - late, cart_id="古い")  # on the edge of the late-arrival window
    w.event("客A", "cart.abandoned", at(1, 0) - dt.timedelta(minutes=1), cart_id="配信前")  # before the deploy
    with watching(w) as statements:
        w.tick(at(4, 11))
    assert statements.searches() == [["cart.abandoned", "order.placed"]] and entered(w) == []
    w.event("客B", "cart.abandoned", at(4, 11) - late + dt.timedelta(seconds=1), cart_id="間に合う")
    with watching(w) as statements:
        w.tick(at(4, 12))
    assert statements.searches() == [["cart.abandoned", "order.placed"]]
    assert entered(w) == [("客B", "carts", at(4, 11) - late + dt.timedelta(seconds=1))]


def test_the_skip_works_when_a_bulk_import_changed_too_many_customers_to_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(changes, "INLINE", 2)  # three changed customers: the tick reads the log as a query
    w = steady(tmp_path)
    w.customer("客C")
    w.order("客A", at(1, 11, 10))
    w.order("客C", at(1, 11, 20))
    w.event("客B", "customer.signed_up", at(1, 11, 30))
    with watching(w) as statements:
        w.tick(at(1, 12))
    assert statements.searches() == [["order.placed"]]
    assert entered(w) == [("客A", "ordered", at(1, 11, 10)), ("客C", "ordered", at(1, 11, 20))]


def test_a_new_scenario_looks_back_over_its_backfill_although_nobody_changed(tmp_path: Path) -> None:
    w = steady(tmp_path)
    w.event("客B", "cart.abandoned", at(1, 11, 30), cart_id="カート2")
    w.tick(at(1, 12))  # enters "carts"
    w.tick(at(1, 13))
    w.write("scenarios/late_carts.ecrm", scenario("late_carts", "cart.abandoned", BODY, "  backfill 7d"))
    w.deploy(at(1, 13, 30))
    with watching(w) as statements:
        w.tick(at(1, 14))
    assert any("cart.abandoned" in types for types in statements.searches())
    assert entered(w) == [("客B", "carts", at(1, 11, 30)), ("客B", "late_carts", at(1, 11, 30))]


def test_a_crash_during_the_entries_loses_all_of_them_and_the_next_tick_makes_them_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = steady(tmp_path)
    w.order("客A", at(1, 11, 30))
    w.event("客B", "cart.abandoned", at(1, 11, 40), cart_id="カート3")
    real = enroll_module._Admitter.candidates
    calls = []

    def dies_on_the_second_scenario(self: Any, *args: Any, **kwargs: Any) -> None:
        calls.append(self.version.id)
        if len(set(calls)) == 2:
            raise SystemExit("killed between two scenarios' entries")
        real(self, *args, **kwargs)

    monkeypatch.setattr(enroll_module._Admitter, "candidates", dies_on_the_second_scenario)
    before = watermarks(w)
    with pytest.raises(SystemExit):
        w.tick(at(1, 12))
    assert entered(w) == [] and w.count("trigger_fires") == 0 and watermarks(w) == before
    monkeypatch.setattr(enroll_module._Admitter, "candidates", real)
    w.tick(at(1, 12))
    assert sorted(entered(w)) == [("客A", "ordered", at(1, 11, 30)), ("客B", "carts", at(1, 11, 40))]
    assert watermarks(w) == {"ordered": at(1, 12), "carts": at(1, 12)}


def test_an_entry_condition_built_once_is_not_reused_for_another_meaning_of_its_segment(tmp_path: Path) -> None:
    """The entry condition's statement is kept across ticks and worlds: two projects whose condition reads the
    same words but whose segment means different things each get their own."""
    vip = scenario("vip", "order.placed where in_segment(vip)", BODY)
    for name, rank in (("gold", "gold"), ("silver", "silver")):
        w = build(tmp_path / name, {"vip": vip}, segments={"vip": f'customer.rank == "{rank}"'})
        w.customer("金", attributes={"rank": "gold"})
        w.customer("銀", attributes={"rank": "silver"})
        w.tick(at(1, 10))
        w.order("金", at(1, 10, 30))
        w.order("銀", at(1, 10, 40))
        w.tick(at(1, 11))
        assert [cid for cid, _, _ in entered(w)] == ["金" if rank == "gold" else "銀"], name


def test_a_condition_on_the_date_is_judged_once_per_local_day_each_entry_as_of_its_own_time(tmp_path: Path) -> None:
    """An entry condition that reads the shop-local date (``days_since``) is executed once per local day among the
    tick's entries, not once per entry time, and each entry still sees its own day: an order at 23:30 is judged on
    that day, the orders after midnight on the next."""
    day_one = scenario("day_one", "order.placed where days_since(customer.signed_up_at) >= 1", BODY)
    w = build(tmp_path, {"day_one": day_one})
    for cid in ("甲", "乙", "丙"):
        w.customer(cid, signed_up_at=at(1, 8))
    w.tick(at(1, 10))
    w.tick(at(1, 23))
    w.order("甲", at(1, 23, 30))  # signed up the same local day: days_since is 0
    w.order("甲", at(2, 0, 30))
    w.order("乙", at(2, 0, 40))
    w.order("丙", at(2, 0, 50))
    with watching(w) as statements:
        w.tick(at(2, 1))
    judged = [sql for sql, _ in statements.seen if sql.startswith("SELECT entering.id FROM")]
    assert len(judged) == 2  # the two local days among four entry times
    assert [(cid, when) for cid, _, when in entered(w)] == [
        ("甲", at(2, 0, 30)),
        ("乙", at(2, 0, 40)),
        ("丙", at(2, 0, 50)),
    ]
