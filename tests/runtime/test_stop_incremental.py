"""``stop when`` judged only for customers changed since the last tick, and for enrollments new since then; a
condition that reads the clock is judged for every active enrollment, as is every rule after a deploy."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.test_tick_entries import watching
from tests.runtime.world import World

UNSUBSCRIBED = "  stop when customer.unsubscribed == true"


def unsubscribe(w: World, cid: str) -> None:
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == cid).values(unsubscribed=True))


def world(tmp_path: Path, stop: str = UNSUBSCRIBED) -> World:
    return build(tmp_path, {"s": scenario("s", "order.placed", "  day 3: send email mail", stop)})


def test_a_customer_unsubscribing_between_ticks_is_stopped_and_the_others_run_on(tmp_path: Path) -> None:
    w = world(tmp_path)
    for cid in ("解約", "stays"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 12))  # a tick with a mark: the next one judges only what changed
    unsubscribe(w, "解約")
    w.tick(at(1, 13))
    assert w.enrollment_status("解約") == ["exited"] and w.enrollment_status("stays") == ["active"]
    [exit_] = w.decisions("解約", "exited")
    assert exit_["reason"] == "stop rule holds" and exit_["at"] == at(1, 13)


def test_an_enrollment_entering_already_matching_is_stopped_in_the_tick_it_entered(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.customer("early", unsubscribed=True)  # a change consumed long before the entry
    w.tick(at(1, 11))
    w.tick(at(1, 12))
    w.order("early", at(1, 12, 30))
    w.tick(at(1, 13))
    assert [d["kind"] for d in w.decisions("early") if d["kind"] in ("entered", "exited")] == ["entered", "exited"]
    assert w.enrollment_status("early") == ["exited"] and w.sends("early") == []


def test_a_change_the_log_never_saw_waits_for_a_deploy(tmp_path: Path) -> None:
    """What makes the rule cheap, shown: an unlogged write (the log's row deleted) is not judged until the next
    deploy, which judges every enrollment again."""
    w = world(tmp_path)
    w.customer("quiet")
    w.order("quiet", at(1, 10))
    w.tick(at(1, 11))
    unsubscribe(w, "quiet")
    with w.engine.begin() as conn:
        conn.execute(delete(TABLES.customer_changes))
    w.tick(at(1, 12))
    assert w.enrollment_status("quiet") == ["active"]
    w.deploy(at(1, 12, 30))
    w.tick(at(1, 13))
    assert w.enrollment_status("quiet") == ["exited"]


def test_a_stop_condition_that_reads_the_clock_is_judged_for_everyone(tmp_path: Path) -> None:
    w = world(tmp_path, "  stop when customer.days_since_last_order >= 1")
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 11))
    w.tick(at(1, 23))
    assert w.enrollment_status("a") == ["active"]
    w.tick(at(2, 1))  # nothing about "a" changed; the local day did
    assert w.enrollment_status("a") == ["exited"]


def test_the_second_look_after_entries_judges_only_the_entrants_even_on_the_clock(tmp_path: Path) -> None:
    """The tick's first pass judged every enrollment as of now; the second, after entering, reads only the
    enrollments the tick made — a condition on the clock included — and still stops an entrant that holds."""
    w = world(tmp_path, "  stop when customer.days_since_last_order >= 1 and customer.unsubscribed == true")
    w.customer("running")
    w.order("running", at(1, 10))
    w.customer("leaving", unsubscribed=True)
    w.tick(at(1, 11))
    w.tick(at(2, 11))
    w.order("leaving", at(1, 9))  # a late arrival, a day old: the clock part already holds when it enters
    with watching(w) as statements:
        w.tick(at(2, 12))
    judged = [(sql, params) for sql, params in statements.seen if "unsubscribed" in sql and "scenario_hash" in sql]
    assert len(judged) == 2  # the first pass, then the second look
    (_, first), (_, second) = judged
    assert "changed_ids" not in first  # on the clock: every active enrollment
    assert second["changed_ids"] in ("[]", []) and second["after"] >= 1  # no customer: only the ids after
    assert w.enrollment_status("leaving") == ["exited"] and w.sends("leaving") == []
    assert w.enrollment_status("running") == ["active"]


def test_entrants_judged_in_their_tick_are_not_new_to_the_next_one(tmp_path: Path) -> None:
    """A tick judges its own entrants before it ends, so its mark moves past them: the next tick looks at them
    again only if their customer changes (here a write the log never saw shows it: it is not judged)."""
    w = world(tmp_path)
    w.customer("entered")
    w.tick(at(1, 10))
    w.order("entered", at(1, 10, 30))
    w.tick(at(1, 11))  # enters and judges "entered" as of 11:00
    unsubscribe(w, "entered")
    with w.engine.begin() as conn:
        conn.execute(delete(TABLES.customer_changes))
    w.tick(at(1, 12))
    assert w.enrollment_status("entered") == ["active"]
    unsubscribe(w, "entered")  # logged this time
    w.tick(at(1, 13))
    assert w.enrollment_status("entered") == ["exited"]
