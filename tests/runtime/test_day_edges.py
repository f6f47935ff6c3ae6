"""A segment that reads the date only through day counts folded into UTC bounds is judged again, after a local
midnight, only for the customers whose instant a moved day edge passed over (and those changed since): never
over every customer. Anything else that reads the date is judged in full. (That the result always equals a full
recompute is the property test in ``tests/test_segment_incremental.py``.)"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.test_tick_entries import entered, watching
from tests.runtime.world import World

LAPSING = "customer.days_since_last_order between 2 and 3"


def lapsing_world(tmp_path: Path) -> World:
    w = build(tmp_path, {"s": scenario("s", "segment lapsing", "  send email mail")}, segments={"lapsing": LAPSING})
    for cid, day in (("昨日", 28), ("一昨日", 27), ("先月", 1), ("未購入", None)):
        w.customer(cid)
        if day is not None:
            w.order(cid, at(day, 15, month=2))
    w.tick(at(1, 10))  # the baseline: 一昨日 matches (its last order two days back)
    w.tick(at(1, 11))
    return w


def test_a_day_change_judges_the_customers_an_edge_passed_not_everyone(tmp_path: Path) -> None:
    w = lapsing_world(tmp_path)
    with watching(w) as statements:
        report = w.tick(at(2, 1))  # a new local day: 昨日's order is two days back, 一昨日's still three
    assert not any("ecrm_segment_matching" in sql for sql, _ in statements.seen)  # no pass over every customer
    assert report.entered["s"] == 1
    assert [cid for cid, scenario_id, _ in entered(w)] == ["昨日"]
    with watching(w) as statements:
        w.tick(at(3, 1))  # 一昨日 leaves (four days), 昨日 stays (three), nobody joins
    assert not any("ecrm_segment_matching" in sql for sql, _ in statements.seen)
    assert members(w) == {"昨日"}


def test_a_day_count_in_arithmetic_is_judged_in_full(tmp_path: Path) -> None:
    segments = {"slow": "customer.days_since_last_order > 1.5 * customer.order_count"}
    w = build(tmp_path, {"s": scenario("s", "segment slow", "  send email mail")}, segments=segments)
    w.customer("客")
    w.order("客", at(27, 15, month=2))
    w.tick(at(1, 10))
    w.tick(at(1, 11))
    with watching(w) as statements:
        w.tick(at(2, 1))
    assert any("ecrm_segment_matching" in sql for sql, _ in statements.seen)
    assert members(w) == {"客"}  # three days since, above 1.5


def members(w: World) -> set[str]:
    m = TABLES.segment_members.c
    with w.engine.connect() as conn:
        return set(conn.execute(select(m.customer_id).where(m.scenario_id == "s")).scalars())
