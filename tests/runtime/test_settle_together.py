"""Goals and stop rules of every running version are settled together: one query for the events of every type
a version has a goal or stop rule on, one query per stop condition the versions share, in one transaction —
with the same outcomes, in the same order, as settling each version alone."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

UNSUBSCRIBED = "  stop when customer.unsubscribed == true"
BODY = "  day 3: send email mail"


def three_scenarios(tmp_path: Path) -> World:
    return build(
        tmp_path,
        {
            "a": scenario("a", "order.placed", BODY, f"  goal order.placed repeat within 30d\n{UNSUBSCRIBED}"),
            "b": scenario("b", "order.placed", BODY, f"  goal order.placed repeat within 10d\n{UNSUBSCRIBED}"),
            "c": scenario("c", "order.placed", BODY, f"  stop on order.cancelled\n{UNSUBSCRIBED}"),
        },
    )


@contextmanager
def statements(w: World) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(" ".join(str(args[2]).split()))

    event.listen(w.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(w.engine, "before_cursor_execute", record)


def test_versions_sharing_an_event_type_and_a_stop_condition_are_settled_by_one_query_each(tmp_path: Path) -> None:
    w = three_scenarios(tmp_path)
    for cid in ("repeat", "cancels", "leaves", "stays"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    w.order("repeat", at(1, 12, 30))
    w.event("cancels", "order.cancelled", at(1, 12, 40))
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "leaves").values(unsubscribed=True))
    with statements(w) as seen:
        w.tick(at(1, 13))
    pair_queries = [s for s in seen if "JOIN events ON events.customer_id = enrollments.customer_id" in s]
    stop_queries = [s for s in seen if "customers.unsubscribed" in s and s.startswith("SELECT enrollments.id")]
    # One for order.placed (goals of a and b) and order.cancelled (c's stop) together: not one per rule, version
    # or type.
    assert len(pair_queries) == 1
    assert len(stop_queries) == 1  # a, b and c share the condition
    assert Counter(w.enrollment_status("repeat")) == Counter({"converted": 2, "active": 1})
    assert Counter(w.enrollment_status("cancels")) == Counter({"active": 2, "exited": 1})
    assert w.enrollment_status("leaves") == ["exited"] * 3
    assert w.enrollment_status("stays") == ["active"] * 3
    reasons = {d["scenario_id"]: d["reason"] for d in w.decisions("cancels", "exited")}
    assert reasons == {"c": "stop on order.cancelled"}


def test_an_enrollment_converted_by_its_goal_is_not_also_stopped(tmp_path: Path) -> None:
    """The goal comes first; the stop rule of the same version, judged in the same pass, does not see it."""
    w = three_scenarios(tmp_path)
    w.customer("both")
    w.order("both", at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    w.order("both", at(1, 12, 30))
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "both").values(unsubscribed=True))
    w.tick(at(1, 13))
    kinds = Counter((d["scenario_id"], d["kind"]) for d in w.decisions("both") if d["kind"] in ("converted", "exited"))
    assert kinds == Counter({("a", "converted"): 1, ("b", "converted"): 1, ("c", "exited"): 1})
    # Outcomes are journaled in priority order, each version's goals before its stop rules.
    journal = [(d["scenario_id"], d["kind"]) for d in w.decisions("both") if d["kind"] in ("converted", "exited")]
    assert journal == sorted(journal, key=lambda e: e[0])


def test_a_goal_window_applies_per_version_although_the_events_are_read_once(tmp_path: Path) -> None:
    """a's goal counts for 30 days, b's for 10: a repeat order on day 15 converts a's enrollment only."""
    w = three_scenarios(tmp_path)
    w.customer("late")
    w.order("late", at(1, 10))
    w.ticks(at(1, 11), at(5, 11), every=at(2, 11) - at(1, 11))
    w.order("late", at(15, 9))
    w.tick(at(15, 10))
    kinds = {d["scenario_id"] for d in w.decisions("late", "converted")}
    assert kinds == {"a"}


def test_a_redeployed_segment_definition_is_used_by_the_same_scenario_version_in_the_same_process(
    tmp_path: Path,
) -> None:
    """The scenario's hash does not cover the segments it names: statements built for one plan are not reused for
    the next, although the scheduler (and its kept statements) lives on."""
    w = build(
        tmp_path,
        {"s": scenario("s", "order.placed", BODY, "  stop when in_segment(watched)")},
        segments={"watched": 'customer.rank == "gold"'},
    )
    for cid in ("gold", "silver"):
        w.customer(cid, attributes={"rank": cid})
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    assert w.enrollment_status("gold") == ["exited"] and w.enrollment_status("silver") == ["active"]
    w.write("segments/watched.yaml", 'segment: watched\nwhere: customer.rank == "silver"\n')
    w.deploy(at(1, 12))
    w.tick(at(1, 12))
    assert w.enrollment_status("silver") == ["exited"]


def converted_with(tmp_path: Path, where: str) -> tuple[World, list[str]]:
    """Three enrollments whose customers order again, two with the coupon; the statements of the settling tick."""
    goal = f"  goal order.placed repeat within 30d where {where}"
    w = build(tmp_path, {"g": scenario("g", "order.placed", BODY, goal)})
    for cid in ("戻った", "クーポンなし", "もう一人"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    w.event("戻った", "order.placed", at(1, 12, 10), order_id="R1", coupon_code="BACK")
    w.event("クーポンなし", "order.placed", at(1, 12, 20), order_id="R2")
    w.event("もう一人", "order.placed", at(1, 12, 30), order_id="R3", coupon_code="BACK")
    with statements(w) as seen:
        w.tick(at(1, 13))
    converted = sorted(c for c in ("戻った", "クーポンなし", "もう一人") if w.decisions(c, "converted"))
    assert converted == ["もう一人", "戻った"]
    return w, [sql for sql in seen if sql.startswith("SELECT customer_tags.")]


def test_a_goal_with_a_condition_reads_the_customers_once_for_all_its_events(tmp_path: Path) -> None:
    """A goal's ``where`` is judged on customer snapshots loaded once for every enrollment whose event it checks,
    not once per event."""
    _, snapshot_loads = converted_with(tmp_path, 'event.coupon_code == "BACK" and customer.order_count >= 1')
    assert len(snapshot_loads) == 1


def test_a_goal_condition_on_the_event_alone_reads_no_customer(tmp_path: Path) -> None:
    _, snapshot_loads = converted_with(tmp_path, 'event.coupon_code == "BACK"')
    assert snapshot_loads == []
