"""A tick with nothing new (no customer changed, nobody due, the same shop-local day) runs a handful of
statements, and skipping the work it would have found nothing for changes no decision: a customer who changes
after quiet ticks is judged as before, by goals, stop rules and segment triggers alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event, update

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

# What a quiet tick reads and writes: the deployment, the open versions, the last tick and the stop rules' mark (one
# read, one write), the change log (its head, the last enrollment, the changed customers), the segments' marks,
# the trigger bookkeeping, the due steps and waits, and the pruning check.
QUIET_STATEMENTS = 13


def world(tmp_path: Path) -> World:
    return build(
        tmp_path,
        {
            "welcome": scenario(
                "welcome",
                "order.placed",
                "  day 3: send email mail",
                "  goal order.placed repeat within 30d\n  stop when customer.unsubscribed == true",
            ),
            "vip": scenario("vip", "segment big_spenders", "  after 1h: send email mail"),
        },
        segments={"big_spenders": "customer.total_spent >= 10000円"},
    )


class Statements:
    """The SQL statements the store runs (SQLAlchemy's cursor event), counted per tick."""

    def __init__(self, w: World):
        self.seen: list[str] = []
        event.listen(w.engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.seen.append(statement)

    def during(self, w: World, moment: Any) -> int:
        before = len(self.seen)
        report = w.tick(moment)
        assert not report.decisions and not report.total_entered
        return len(self.seen) - before


def test_a_tick_with_nothing_new_runs_a_handful_of_statements(tmp_path: Path) -> None:
    w = world(tmp_path)
    w.customer("a")
    w.order("a", at(1, 10))
    w.tick(at(1, 11))  # a enters welcome
    w.tick(at(1, 12))  # the first tick with a mark: from here on only what changed is judged
    counter = Statements(w)
    quiet = [counter.during(w, at(1, hour)) for hour in (13, 14, 15)]
    assert max(quiet) <= QUIET_STATEMENTS, quiet
    # A changed customer brings the skipped work back: the same hour's tick runs more.
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "a").values(name="変更"))
    assert counter.during(w, at(1, 16)) > max(quiet)


def test_after_quiet_ticks_a_change_is_judged_as_before(tmp_path: Path) -> None:
    w = world(tmp_path)
    for cid in ("stays", "解約", "buys"):
        w.customer(cid)
        w.order(cid, at(1, 10))
    w.ticks(at(1, 11), at(1, 16))  # entries, then quiet hours
    with w.engine.begin() as conn:
        conn.execute(update(TABLES.customers).where(TABLES.customers.c.id == "解約").values(unsubscribed=True))
    w.order("buys", at(1, 16, 30), amount=8000)  # a repeat purchase (the goal) that also makes a big spender
    w.tick(at(1, 17))
    assert w.enrollment_status("stays") == ["active"]
    assert w.enrollment_status("解約") == ["exited"]
    assert sorted(w.enrollment_status("buys")) == ["active", "converted"]  # converted, and entered vip
    [entered] = [d for d in w.decisions("buys", "entered") if d["scenario_id"] == "vip"]
    assert entered["at"] == at(1, 17)
