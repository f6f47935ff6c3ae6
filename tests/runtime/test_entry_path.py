"""What entering and a segment trigger's pass cost in statements: candidates judged before anything is written
(only entrants inserted, their ids returned and never read back), a segment's statements built once per plan and
run with the clock bound, and an incremental pass that needs no working table. Decisions stay what they were."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from ecrm_dsl.runtime import enroll as enroll_module
from ecrm_dsl.runtime import steps as steps_module
from ecrm_dsl.runtime.assign import in_holdout
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario, set_customer
from tests.runtime.test_tick_entries import watching
from tests.runtime.world import World

BODY = "  day 3: send email mail"


@contextmanager
def entering(w: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, list[str]]]]:
    """The statements of each call judging a batch of candidates (``candidates``) and of each call entering the
    batches that passed (``flush``, every scenario's at once), in the order of the calls."""
    calls: list[tuple[str, list[str]]] = []

    def watched(name: str, real: Any) -> Any:
        def counted(self: Any, *args: Any, **kwargs: Any) -> None:
            with watching(w) as statements:
                real(self, *args, **kwargs)
            calls.append((name, [sql for sql, _ in statements.seen]))

        return counted

    monkeypatch.setattr(
        enroll_module._Admitter, "candidates", watched("candidates", enroll_module._Admitter.candidates)
    )
    monkeypatch.setattr(enroll_module._Entering, "flush", watched("flush", enroll_module._Entering.flush))
    yield calls


def enrollments(w: World) -> list[tuple[int, str, str, str, bool]]:
    e = TABLES.enrollments.c
    with w.engine.connect() as conn:
        query = select(e.id, e.customer_id, e.scenario_id, e.status, e.holdout).order_by(e.id)
        return [tuple(row) for row in conn.execute(query)]  # type: ignore[misc]


def verbs(statements: list[str]) -> list[str]:
    """Each statement as its verb and the table it writes or reads first."""
    out = []
    for sql in statements:
        words = sql.split()
        table = words[2] if words[0] in ("INSERT", "DELETE") else words[1]
        if words[0] == "SELECT":
            table = sql.split(" FROM ", 1)[1].split()[0]
            if sql.startswith("SELECT entering.id FROM"):
                table = "candidates"  # the batch bound as one parameter, read as a table
        out.append(f"{words[0]} {table}")
    return out


def test_an_entry_condition_batch_is_judged_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f2 = scenario("f2", "order.placed where customer.order_count == 1", BODY, "  holdout 50%")
    w = build(tmp_path, {"f2": f2})
    for cid in ("初回", "二回目", "三人目"):
        w.customer(cid)
    w.order("二回目", at(1, 9))  # enters at the first tick
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    w.order("初回", at(1, 11, 10))
    w.order("二回目", at(1, 11, 20))  # a second order: the entry condition refuses it
    w.order("三人目", at(1, 11, 30))
    with entering(w, monkeypatch) as calls:
        w.tick(at(1, 12))
    # the entry condition over the candidates; then, with the tick's other scenarios' entrants, the re-entry
    # history and the entrants inserted (ids returned; on SQLite, the keys they took confirmed by a count);
    # placing and journaling wait for the tick's other scenarios: the refused order never becomes a row
    keys = ["SELECT enrollments"] if w.engine.dialect.name == "sqlite" else []
    assert [(name, verbs(seen)) for name, seen in calls] == [
        ("candidates", ["SELECT candidates"]),
        ("flush", ["SELECT enrollments", "INSERT enrollments", *keys]),
    ]
    rows = enrollments(w)
    assert [(cid, status) for _, cid, _, status, _ in rows] == [
        ("二回目", "active"),
        ("初回", "active"),
        ("三人目", "active"),
    ]
    assert rows[2][0] == rows[1][0] + 1  # no id taken by the refused order
    assert [holdout for *_, holdout in rows] == [in_holdout(cid, "f2", 50) for _, cid, *_ in rows]
    assert [d["kind"] for d in w.decisions("初回")] == ["entered"]
    assert [d["kind"] for d in w.decisions("二回目")] == ["entered"]  # the second order refused without a word


def test_without_a_condition_the_reentry_rule_decides_and_only_entrants_are_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = build(tmp_path, {"carts": scenario("carts", "cart.abandoned", BODY)})
    w.customer("客A")
    w.customer("客B")
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    w.event("客A", "cart.abandoned", at(1, 11, 10), cart_id="一")
    w.event("客A", "cart.abandoned", at(1, 11, 20), cart_id="二")  # already in: refused
    w.event("客B", "cart.abandoned", at(1, 11, 30), cart_id="三")
    with entering(w, monkeypatch) as calls:
        w.tick(at(1, 12))
    # nothing to judge; then history, insert the kept (already active; on SQLite their keys confirmed): the
    # refused one is journaled, never stored
    keys = ["SELECT enrollments"] if w.engine.dialect.name == "sqlite" else []
    assert [(name, verbs(seen)) for name, seen in calls] == [
        ("candidates", []),
        ("flush", ["SELECT enrollments", "INSERT enrollments", *keys]),
    ]
    rows = enrollments(w)
    assert [(cid, status) for _, cid, _, status, _ in rows] == [("客A", "active"), ("客B", "active")]
    assert rows[1][0] == rows[0][0] + 1  # no id taken by the refused candidate
    refused = w.decisions("客A", "not_entered")
    assert [(d["reason"], d["at"]) for d in refused] == [("already in this scenario", at(1, 11, 20))]


def test_a_scenarios_next_batch_sees_the_entrants_of_its_last(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of different scenarios wait to be entered together, but a scenario's next batch is judged by the
    re-entry rule only once its last is stored: a customer in both is refused, as within one batch."""
    monkeypatch.setattr(enroll_module, "BATCH", 1)  # a batch per event; both wait (WAITING) unless told apart
    w = build(tmp_path, {"carts": scenario("carts", "cart.abandoned", BODY)})
    w.customer("客A")
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    w.event("客A", "cart.abandoned", at(1, 11, 10), cart_id="一")
    w.event("客A", "cart.abandoned", at(1, 11, 20), cart_id="二")
    w.tick(at(1, 12))
    assert [(cid, status) for _, cid, _, status, _ in enrollments(w)] == [("客A", "active")]
    refused = w.decisions("客A", "not_entered")
    assert [(d["reason"], d["at"]) for d in refused] == [("already in this scenario", at(1, 11, 20))]


THREE = {
    "carts": scenario("carts", "cart.abandoned", BODY),
    "carts_late": scenario("carts_late", "cart.abandoned", "  day 5: send email mail"),
    "f2": scenario("f2", "order.placed where customer.order_count == 1", BODY),
}


def entered_tick(tmp_path: Path) -> tuple[World, dt.datetime]:
    """Three scenarios, two on the same event type, and four customers entering them in one tick."""
    w = build(tmp_path, THREE)
    for cid in ("客A", "客B", "客C", "客D"):
        w.customer(cid)
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    w.event("客A", "cart.abandoned", at(1, 11, 10), cart_id="一")
    w.event("客B", "cart.abandoned", at(1, 11, 20), cart_id="二")
    w.order("客C", at(1, 11, 30))
    w.order("客D", at(1, 11, 40))
    return w, at(1, 12)


def placed(w: World) -> list[tuple[Any, ...]]:
    e = TABLES.enrollments.c
    with w.engine.connect() as conn:
        query = select(e.customer_id, e.scenario_id, e.node_id, e.due_at, e.status).order_by(e.id)
        return [tuple(row) for row in conn.execute(query)]


def journal(w: World) -> list[tuple[str, str, str]]:
    return [(cid, d["scenario_id"], d["kind"]) for cid in ("客A", "客B", "客C", "客D") for d in w.decisions(cid)]


def test_a_ticks_entrants_into_every_scenario_are_placed_and_journaled_in_one_statement_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w, now = entered_tick(tmp_path)
    with watching(w) as statements:  # nothing else writes in this tick: no step is due, no goal met
        report = w.tick(now)
    seen = [sql for sql, _ in statements.seen]
    assert sum(report.entered.values()) == 6  # 客A, 客B twice each; 客C, 客D once
    written = [v for v in verbs(seen) if v.split()[0] != "SELECT"]
    assert written.count("UPDATE enrollments") == 1
    assert written.count("INSERT decisions") == 1
    assert written.count("INSERT enrollments") == 1  # every scenario's entrants together
    # one re-entry history for all three scenarios' candidates
    assert sum("GROUP BY enrollments.customer_id, enrollments.scenario_id" in sql for sql in seen) == 1
    # the events every scenario handled (both cart scenarios' and f2's) recorded together
    assert written.count("INSERT trigger_fires") == 1
    # each placed at its first wait, due when that wait ends
    waits = {(cid, sid): (node, due) for cid, sid, node, due, _ in placed(w)}
    assert waits[("客A", "carts")][1] - at(1, 11, 10) == dt.timedelta(days=3)
    assert waits[("客A", "carts_late")][1] - at(1, 11, 10) == dt.timedelta(days=5)
    assert waits[("客D", "f2")][1] - at(1, 11, 40) == dt.timedelta(days=3)


def test_moves_and_decisions_written_as_they_come_give_the_same_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    together, now = entered_tick(tmp_path / "together")
    together.tick(now)
    monkeypatch.setattr(steps_module, "HELD_MOVES", 1)
    monkeypatch.setattr(enroll_module, "BATCH", 1)  # each page of candidates one row, journaled at once
    one_by_one, now = entered_tick(tmp_path / "one_by_one")
    one_by_one.tick(now)
    assert placed(one_by_one) == placed(together)
    assert journal(one_by_one) == journal(together)
    assert len(placed(together)) == 6


def segment_world(tmp_path: Path, rank: str = "gold") -> World:
    w = build(
        tmp_path,
        {"s": scenario("s", "segment golds", "  send email mail")},
        segments={"golds": f'customer.rank == "{rank}" and customer.order_count >= 1'},
    )
    w.customer("金", attributes={"rank": "gold"})
    w.customer("銀", attributes={"rank": "silver"})
    w.order("金", at(1, 9))
    w.order("銀", at(1, 9))
    w.tick(at(1, 10))  # the baseline: 金 already matches
    w.tick(at(1, 11))
    return w


def test_a_steady_segment_pass_is_built_once_and_needs_no_working_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = segment_world(tmp_path)
    built: list[object] = []
    real = enroll_module.select_customers

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(enroll_module, "select_customers", counted)
    set_customer(w, "銀", attributes={"rank": "gold"})
    with watching(w) as statements:
        w.tick(at(1, 12))
    sqls = [sql for sql, _ in statements.seen]
    assert built == []  # the plan's statements, built by an earlier tick
    assert not any("ecrm_segment_matching" in sql for sql in sqls)  # judged in place, no temporary table
    assert sum("trigger_fires" in sql for sql in sqls) == 1  # the tick's key claimed in one statement
    assert [d["kind"] for d in w.decisions("銀")][:1] == ["entered"]
    with watching(w) as statements:
        w.tick(at(1, 13))  # nobody changed, nobody joined: no search for entrants
    assert not any("segment_members.since" in sql for sql, _ in statements.seen)
    assert built == []


def test_a_redeployed_segment_definition_is_used_at_once_by_the_same_scenario_version(tmp_path: Path) -> None:
    """The scenario's text (and hash) stays; its segment now means another thing. The next tick in the same
    process judges everyone by the new meaning — not by the statement built for the old one, and not only the
    customers changed since (none are)."""
    w = segment_world(tmp_path)
    w.tick(at(1, 12))
    hashes = scenario_hashes(w)
    w.write("segments/golds.yaml", 'segment: golds\nwhere: customer.rank == "silver"\n')
    w.deploy(at(1, 12, 30))
    assert scenario_hashes(w) == hashes
    w.tick(at(1, 13))
    assert members(w) == {"銀": at(1, 13).astimezone(dt.UTC)}
    assert [d["kind"] for d in w.decisions("銀")][:1] == ["entered"]
    w.tick(at(1, 14))
    assert members(w) == {"銀": at(1, 13).astimezone(dt.UTC)}


def test_an_incremental_pass_finds_joiners_and_leavers(tmp_path: Path) -> None:
    w = segment_world(tmp_path)
    set_customer(w, "銀", attributes={"rank": "gold"})
    set_customer(w, "金", attributes={"rank": "silver"})
    w.tick(at(2, 0, 30))  # a new shop-local day: nothing here reads the date, so the pass stays incremental
    assert members(w) == {"銀": at(2, 0, 30).astimezone(dt.UTC)}


def test_a_full_pass_built_on_the_first_tick_judges_as_of_each_later_tick(tmp_path: Path) -> None:
    """The statement is built once, as of its first tick; its day edges are parameters bound every tick, so the
    clock alone moves a customer into the segment days later."""
    w = build(
        tmp_path,
        {"s": scenario("s", "segment quiet", "  send email mail")},
        segments={"quiet": "customer.days_since_last_order >= 2"},
    )
    w.customer("静")
    w.order("静", at(1, 9))
    w.tick(at(1, 10))
    w.tick(at(2, 10))  # one day: not yet
    assert members(w) == {}
    w.tick(at(3, 0, 30))  # two shop-local days, nothing changed: the full pass of the new day finds it
    assert members(w) == {"静": at(3, 0, 30).astimezone(dt.UTC)}
    assert [d["kind"] for d in w.decisions("静")][:1] == ["entered"]


def members(w: World) -> dict[str, dt.datetime]:
    m = TABLES.segment_members.c
    with w.engine.connect() as conn:
        return {row.customer_id: row.since for row in conn.execute(select(m.customer_id, m.since))}


def scenario_hashes(w: World) -> set[str]:
    with w.engine.connect() as conn:
        return {v.hash for v in w.scheduler.versions(conn)[0]}
