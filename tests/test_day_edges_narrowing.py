"""Which segments a local midnight can narrow (see ``ecrm_dsl.runtime.day_edges``): the sources of a condition's
day counts, the clock parameters that allow it, and the instants a moved edge passed over."""

from __future__ import annotations

from ecrm_dsl.runtime.day_edges import instant_sources, moved_by_edges_only, moved_ranges
from ecrm_dsl.store.day_edges import LAST_OPENS, ORDERS, SIGNUPS
from tests.runtime.adversarial_helpers import at
from tests.test_conditions_cost import normal

LAPSING = "customer.days_since_last_order between 2 and 3"


def test_the_sources_of_a_conditions_day_counts() -> None:
    segments = {"opened_lately": normal("customer.days_since_last_open <= 7")}
    sources = {
        LAPSING: {ORDERS},
        "days_since(customer.first_order_at) >= 30 and days_since(customer.signed_up_at) < 10": {ORDERS, SIGNUPS},
        'in_segment("opened_lately") or customer.rank == "gold"': {LAST_OPENS},
        'customer.rank == "gold"': set(),
        # a purchase window of whole days bounds the orders' time by a day edge
        'bought(category: "skincare", within: 30d) and count(order.placed, 7d) >= 1': {ORDERS},
    }
    assert {text: instant_sources(normal(text), segments) for text in sources} == sources
    # an instant this module does not know where to find: judged in full
    assert instant_sources(normal("days_since(customer.birthday) <= 7"), {}) is None


def test_only_day_edges_time_windows_and_now_let_a_day_change_be_narrowed() -> None:
    assert moved_by_edges_only({"ecrm_now": None, "ecrm_now_day_1": 3, "ecrm_now_day_2": 2, "ecrm_now_window_1": 3600})
    assert not moved_by_edges_only({"ecrm_now": None, "ecrm_now_window_1": 3600})  # no day edge: nothing to narrow
    assert not moved_by_edges_only(
        {"ecrm_now": None, "ecrm_now_day_1": 3, "ecrm_now_today": None}
    )  # a day count in arithmetic
    assert not moved_by_edges_only(
        {"ecrm_now": None, "ecrm_now_day_1": 3, "ecrm_now_sent_1": 86400}
    )  # deliveries: not logged
    assert not moved_by_edges_only({"ecrm_now": None, "ecrm_now_day_1": None})


def test_the_ranges_an_edge_passed_cover_its_old_day_to_its_new_one() -> None:
    ranges = moved_ranges({"ecrm_now_day_1": 3}, at(1, 23), at(2, 1), "Asia/Tokyo")
    # three days back from the 1st is 26 February, from the 2nd the 27th: the start of the one to the end of the other
    assert ranges == [(at(26, 0, month=2), at(28, 0, month=2))]
