"""``ecrm explain`` says why a customer is not in each deployed scenario: no trigger for them, which part of the
entry condition, segment or audience was false with the values it read, the holdout; and an unknown customer
is exit 1 with a sentence."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.runtime.assign import in_holdout
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, scenario
from tests.runtime.world import World

SCENARIOS = {
    "f2": scenario("f2", "order.placed where customer.order_count == 1", "  send email mail"),
    "cart": scenario("cart", "cart.abandoned", "  send email mail"),
    "dormant": scenario("dormant", "segment dormant", "  send email mail"),
    "birthday": scenario("birthday", "date 7d before customer.birthday at 09:00 yearly", "  send email mail"),
    "vip_news": scenario("vip_news", 'schedule "0 10 1 * *" audience vips', "  send email mail"),
    "held": scenario("held", "order.placed", "  @thanks send email mail", "  holdout 50%", kind="sell"),
}
SEGMENTS = {
    "dormant": "customer.days_since_last_order >= 150",
    "vips": 'has_tag("vip") and customer.total_spent >= 50000円',
}


def explain(w: World, customer_id: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["explain", customer_id, "--store", w.store])
    return result.exit_code, result.output


def test_explain_says_why_a_customer_never_entered_each_scenario(tmp_path: Path) -> None:
    w = build(tmp_path, SCENARIOS, segments=SEGMENTS)
    held = next(f"h{i}" for i in range(100) if in_holdout(f"h{i}", "held", 50))
    for cid in ("repeat", "nobody", held):
        w.customer(cid)
    w.order("repeat", at(10, 12, month=2), amount=5000)  # two orders before the deploy …
    w.order("repeat", at(20, 12, month=2), amount=6000)
    w.order("nobody", at(25, 12, month=2))
    w.tick(at(1, 10))
    w.order("repeat", at(3, 9), amount=4000)  # … and the third after it: not a first order
    w.order(held, at(3, 9))
    w.tick(at(3, 10))

    code, out = explain(w, "repeat")
    assert code == 0, out
    assert out.split("why not in the other deployed scenarios:\n")[1].splitlines() == [
        "  birthday: customer.birthday is not set",
        "  cart: the trigger never fired for them: no cart.abandoned event",
        "  dormant: not in segment dormant at the last tick (2025-03-03 10:00): "
        "`customer.days_since_last_order >= 150` was false: customer.days_since_last_order is 0",
        "  f2: the entry condition was false for their order.placed at 2025-03-03 09:00: "
        "`customer.order_count == 1` was false: customer.order_count is 3",
        "  held: in the holdout group: measured, never messaged",  # entered at the third order, held out
        "  vip_news: not in audience vips at the last tick (2025-03-03 10:00): "
        '`has_tag("vip")` was false: customer.tags is []; '
        "`customer.total_spent >= 50000円` was false: customer.total_spent is 15000円",
    ]
    assert in_holdout("repeat", "held", 50)

    code, out = explain(w, "nobody")
    assert code == 0 and out.startswith("customer nobody: no decisions recorded\n"), out
    assert (
        "  f2: the trigger never fired for them: 1 order.placed event before the scenario started counting at "
        "2025-03-01 00:00\n" in out
    )
    code, out = explain(w, held)
    assert "  held: in the holdout group: measured, never messaged\n" in out


def test_the_condition_is_judged_as_of_each_event_with_the_event_and_its_order(tmp_path: Path) -> None:
    big_first = scenario(
        "big_first",
        'order.placed where customer.order_count == 1 and event.amount >= 10000円 and not has_tag("staff")',
        "  send email mail",
    )
    w = build(tmp_path, {"big_first": big_first})
    w.customer("small")
    w.order("small", at(2, 9), amount=3000)
    w.order("small", at(2, 11), amount=20000)  # a big order, but no longer a first one
    w.tick(at(2, 12))
    code, out = explain(w, "small")
    assert code == 0
    assert out.splitlines()[-1] == (
        "  big_first: the entry condition was false for their order.placed at 2025-03-02 11:00 (the latest of 2): "
        "`customer.order_count == 1` was false: customer.order_count is 2"
    )


def test_an_unknown_customer_is_exit_1_with_a_sentence(tmp_path: Path) -> None:
    w = build(tmp_path, SCENARIOS, segments=SEGMENTS)
    w.customer("known")
    code, out = explain(w, "Known")
    assert code == 1
    assert out == (
        f"ecrm explain: the store {w.engine.url.database} has no customer 'Known' (ids are matched exactly, "
        "case included)\n"
    )
    assert explain(w, "known")[0] == 0


def test_segments_dates_schedules_and_late_events_each_say_what_is_missing(tmp_path: Path) -> None:
    scenarios = {
        "buyers": scenario("buyers", "segment buyers", "  send email mail"),
        "birthday": scenario("birthday", "date 7d before customer.birthday at 09:00 yearly", "  send email mail"),
        "monthly": scenario("monthly", 'schedule "0 10 1 * *" audience buyers', "  send email mail"),
        "survey": scenario("survey", "survey.answered", "  send email mail"),
    }
    w = build(tmp_path, scenarios, segments={"buyers": "customer.order_count >= 1"}, deploy_at=at(2, 0))
    w.customer("old", birthday=dt.date(1990, 6, 15))
    w.order("old", at(1, 9))  # a buyer before the deploy: part of the first check's baseline
    w.tick(at(2, 10))
    w.event("old", "survey.answered", at(2, 11), satisfaction=5)  # after the last tick

    code, out = explain(w, "old")
    assert code == 0
    assert out.split("why not in the other deployed scenarios:\n")[1].splitlines() == [
        "  birthday: customer.birthday is 1990-06-15: the trigger (date 7d before customer.birthday at 09:00 "
        "yearly) has not fired for it since the scenario started counting at 2025-03-02 00:00",
        "  buyers: has matched segment buyers since the first check (2025-03-02 10:00), which only records who "
        "already matches; the scenario enters customers who start matching it",
        '  monthly: in audience buyers: the schedule "0 10 1 * *" has not fired since the scenario started '
        "counting at 2025-03-02 00:00",
        "  survey: the trigger never fired for them: 1 survey.answered event after the last tick (2025-03-02 10:00)",
    ]


def test_a_schedule_that_fired_says_whether_the_customer_was_known_and_in_the_audience_then(tmp_path: Path) -> None:
    scenarios = {"monthly": scenario("monthly", 'schedule "0 10 1 * *" audience buyers', "  send email mail")}
    w = build(tmp_path, scenarios, segments={"buyers": "customer.order_count >= 1"}, deploy_at=at(28, 0, month=2))
    w.customer("late", signed_up_at=at(5, 9))  # signed up after the 1 March fire
    w.order("late", at(5, 10))
    w.customer("first_order_later", signed_up_at=at(1, 1, month=2))
    w.order("first_order_later", at(6, 10))  # a buyer only after the fire
    w.tick(at(1, 10))
    w.tick(at(7, 10))

    assert explain(w, "late")[1].split("deployed scenarios:\n")[1].splitlines() == [
        '  monthly: signed up at 2025-03-05 09:00, after the schedule "0 10 1 * *" last fired (2025-03-01 10:00); '
        "they are in audience buyers for its next fire"
    ]
    assert explain(w, "first_order_later")[1].split("deployed scenarios:\n")[1].splitlines() == [
        "  monthly: not in audience buyers when the schedule last fired (2025-03-01 10:00): "
        "`customer.order_count >= 1` was false: customer.order_count is 0"
    ]


def test_a_purchase_history_condition_shows_what_was_bought(tmp_path: Path) -> None:
    fans = scenario("fans", "segment skincare_fans", "  send email mail")
    w = build(tmp_path, {"fans": fans}, segments={"skincare_fans": """'spent_on(category: "skincare") >= 10000円'"""})
    w.customer("a")
    order = w.order("a", at(20, 12, month=2), amount=3000)
    with w.engine.begin() as conn:
        conn.execute(
            TABLES.order_items.insert().values(
                order_id=order, sku="LOTION-150", category="skincare/lotion", quantity=1, price=3000
            )
        )
    w.tick(at(1, 10))

    code, out = explain(w, "a")

    assert code == 0, out
    assert '`spent_on(category: "skincare") >= 10000円` was false: spent_on(category: "skincare") is 3000円' in out, out
