"""``ecrm report``'s money, experiment checks and hypothesis verdicts, from real stores (SQLite and PostgreSQL)
with histories whose figures are worked out by hand in the comments."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from ecrm_dsl.cli import cli
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import SplitNode, Variant
from ecrm_dsl.plan.scenario import Hypothesis, Target
from ecrm_dsl.report.document import ReportOptions, build_report
from ecrm_dsl.report.experiments import scenario_checks, srm_check
from ecrm_dsl.report.html import render_html
from ecrm_dsl.report.stats import Z95, chi_square_p, gamma_q
from ecrm_dsl.report.text import render_csv, render_text
from ecrm_dsl.store.report_queries import Window
from ecrm_dsl.store.tables import TABLES
from tests.conftest import BACKENDS
from tests.pg import Cluster
from tests.runtime.adversarial_helpers import at, bulk_customers, bulk_orders, scenario, template
from tests.runtime.world import World

# ---------------------------------------------------------------------------- chi-square against known values


def test_chi_square_p_values_match_closed_forms_and_tables() -> None:
    # One degree of freedom: erfc(sqrt(x / 2)); 3.841 is the 5% critical value, 10.828 the 0.1% one.
    assert chi_square_p(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-9)
    assert chi_square_p(10.827566170662733, 1) == pytest.approx(0.001, rel=1e-9)
    # Even degrees of freedom have a closed form: Q(k, x/2) = exp(-x/2) * sum((x/2)^i / i!, i < k).
    for dof in (2, 4, 6, 10):
        for x in (0.5, 3.0, 10.0, 25.0, 80.0):
            half = x / 2
            expected = math.exp(-half) * sum(half**i / math.factorial(i) for i in range(dof // 2))
            assert chi_square_p(x, dof) == pytest.approx(expected, rel=1e-10, abs=1e-300)
    # Odd degrees of freedom against the standard table of critical values (3 dof: 7.815 at 5%, 11.345 at 1%,
    # 16.266 at 0.1%; 5 dof: 11.070 at 5%).
    assert chi_square_p(7.815, 3) == pytest.approx(0.05, abs=1e-4)
    assert chi_square_p(11.345, 3) == pytest.approx(0.01, abs=1e-5)
    assert chi_square_p(16.266, 3) == pytest.approx(0.001, abs=1e-6)
    assert chi_square_p(11.070, 5) == pytest.approx(0.05, abs=1e-4)
    assert chi_square_p(0.0, 3) == 1.0
    # Q(3/2, y) = erfc(sqrt(y)) + 2 sqrt(y / pi) exp(-y), on both sides of a + 1 = 2.5 where the method switches
    # from the series to the continued fraction.
    for y in (0.3, 2.4, 2.6, 9.0):
        assert gamma_q(1.5, y) == pytest.approx(math.erfc(math.sqrt(y)) + 2 * math.sqrt(y / math.pi) * math.exp(-y))


def test_sample_ratio_check_flags_a_mismatch_below_one_in_a_thousand() -> None:
    # 1,000 enrollments with a 10% holdout: 100 expected, 130 held out. chi² = 30²/100 + 30²/900 = 10,
    # p = erfc(sqrt(5)) = 0.0015654: suspicious, but not below 0.001.
    check = srm_check("holdout", "holdout", [("messaged", 0.9, 870), ("holdout", 0.1, 130)])
    assert check["chi2"] == pytest.approx(10.0) and check["p"] == pytest.approx(0.00156540, rel=1e-5)
    assert not check["mismatch"] and check["message"] is None
    # 140 held out: chi² = 40²/100 + 40²/900 = 17.78, p = 2.5e-5: flagged, with what it means.
    check = srm_check("holdout", "holdout", [("messaged", 0.9, 860), ("holdout", 0.1, 140)])
    assert check["mismatch"] and check["p"] == pytest.approx(math.erfc(math.sqrt(160 / 9 / 2)), rel=1e-5)
    assert "sample ratio mismatch" in check["message"] and "check that" in check["message"]
    # A three-way split 1:1:2 with 300 customers: expected 75, 75, 150; observed 90, 60, 150 → chi² = 6, 2 dof,
    # p = exp(-3).
    split = srm_check("split", "test", [("a", 0.25, 90), ("b", 0.25, 60), ("c", 0.5, 150)])
    assert split["chi2"] == pytest.approx(6.0) and split["p"] == pytest.approx(math.exp(-3), rel=1e-5)
    assert srm_check("holdout", "holdout", [("messaged", 0.9, 0), ("holdout", 0.1, 0)])["p"] is None


# ---------------------------------------------------------------------------- the shop's money


def shop(root: Path) -> World:
    """Six customers; the window is 1 January to 31 March 2025 (shop time)."""
    w = World(root)
    w.write("segments/big.yaml", "segment: big\nwhere: customer.total_spent >= 10000円\n")
    w.write("segments/recent.yaml", "segment: recent\nwhere: customer.days_since_last_order <= 20\n")
    w.write("segments/quiet.yaml", "segment: quiet\nwhere: customer.days_since_last_order >= 40\n")
    w.templates(template("mail"))
    # The stop rule never holds; it only puts the segments in the plan.
    extra = "  stop when (in_segment(big) or in_segment(recent) or in_segment(quiet)) and customer.order_count >= 50"
    w.write("scenarios/s.ecrm", scenario("s", "customer.signed_up", "  send email mail", extra))
    w.deploy(at(1, 0, month=1))
    w.customer("a", entry_channel="ad_lp")
    w.order("a", at(10, 12, month=1), 3000)
    w.order("a", at(5, 12, month=2), 5000)  # repeat
    w.customer("b", entry_channel="organic_search")
    w.order("b", at(20, 12, month=1), 10000)
    w.customer("c")  # no entry channel known
    w.order("c", at(1, 12, month=12, year=2024), 2000)  # before the window
    w.order("c", at(20, 12, month=3), 4000)  # repeat
    w.customer("d", entry_channel="ad_lp")
    w.order("d", at(25, 12, month=3), 6000)
    w.customer("e", entry_channel="sns")
    for month in (6, 7, 8, 9):
        w.order("e", at(1, 12, month=month, year=2024), 1000)
    w.order("e", at(10, 12, month=2), 8000)  # the fifth order: loyal
    w.customer("f", entry_channel="sns")
    w.order("f", at(1, 12, month=5, year=2024), 7000)  # dormant, nothing in the window
    return w


MONEY_WINDOW = Window(at(1, 0, month=1), at(31, 23, 59, month=3))


def report(w: World, window: Window, plan: Plan | None = None) -> dict[str, Any]:
    with w.engine.connect() as conn:
        return build_report(
            conn, plan or w.plan(), window, ReportOptions(store="shop", timezone="Asia/Tokyo", dormant_days=150)
        )


def test_revenue_aov_and_repeat_revenue_by_phase_channel_and_segment(tmp_path: Path, world_backend: str) -> None:
    m = report(shop(tmp_path), MONEY_WINDOW)["money"]
    # In the window: a 3,000 + 5,000, b 10,000, c 4,000, d 6,000, e 8,000. Repeat: a's 5,000, c's 4,000, e's 8,000.
    assert m["overall"] == {
        "orders": 6,
        "revenue": 36000,
        "aov": 6000.0,
        "repeat_revenue": 17000,
        "repeat_share": pytest.approx(17 / 36, abs=1e-6),
        "buyers": 5,
        "revenue_per_buyer": 7200.0,
    }
    # Phases at 31 March: d one order on 25 March (new), b one order in January (f2_pending), a and c two orders
    # (repeat), e five (loyal); f is dormant but bought nothing in the window.
    phases = {g["group"]: (g["orders"], g["revenue"], g["repeat_revenue"], g["buyers"]) for g in m["by_phase"]}
    assert phases == {
        "new": (1, 6000, 0, 1),
        "f2_pending": (1, 10000, 0, 1),
        "repeat": (3, 12000, 9000, 2),
        "loyal": (1, 8000, 8000, 1),
    }
    assert [g["group"] for g in m["by_phase"]] == ["new", "f2_pending", "repeat", "loyal"]
    channels = [(g["group"], g["revenue"], g["orders"], g["buyers"], g["aov"]) for g in m["by_entry_channel"]]
    assert channels == [
        ("ad_lp", 14000, 3, 2, pytest.approx(14000 / 3, abs=1e-6)),
        ("organic_search", 10000, 1, 1, 10000.0),
        ("sns", 8000, 1, 1, 8000.0),
        ("(unknown)", 4000, 1, 1, 4000.0),
    ]
    # Members at the end. big (total spent >= 10,000円): b (10,000) and e (12,000). recent (last order within 20
    # days): c (20 March) and d (25 March). quiet (none for 40 days or more): a (5 February), b, e (10 February)
    # and f. Both day conditions bind their day bounds; each segment must get its own.
    segments = [(g["group"], g["revenue"], g["orders"], g["repeat_revenue"], g["buyers"]) for g in m["by_segment"]]
    assert segments == [("big", 18000, 2, 8000, 2), ("quiet", 26000, 4, 13000, 3), ("recent", 10000, 2, 4000, 2)]


def test_a_longer_window_has_dormant_revenue(tmp_path: Path) -> None:
    since_may = Window(at(1, 0, month=5, year=2024), MONEY_WINDOW.end)
    phases = {g["group"]: g for g in report(shop(tmp_path), since_may)["money"]["by_phase"]}
    # f's only order (1 May 2024) is in this window, and f has bought nothing for 150 days by 31 March.
    assert (phases["dormant"]["revenue"], phases["dormant"]["buyers"]) == (7000, 1)
    # e's four 2024 orders count for e's phase at the end, loyal; c's December order is its first, not a repeat.
    assert (phases["loyal"]["orders"], phases["loyal"]["revenue"], phases["loyal"]["repeat_revenue"]) == (
        5,
        12000,
        11000,
    )
    assert (phases["repeat"]["revenue"], phases["repeat"]["repeat_revenue"]) == (14000, 9000)


def test_observed_ltv_by_first_purchase_month_is_cumulative(tmp_path: Path, world_backend: str) -> None:
    cohorts = report(shop(tmp_path), MONEY_WINDOW)["money"]["cohorts"]
    # First orders in the window: a and b in January, d in March (c and e first bought in 2024).
    # January: month 0 a 3,000 + b 10,000 = 13,000 / 2; month 1 + a's 5,000 → 9,000 each; month 2 unchanged.
    assert cohorts == [
        {"cohort": "2025-01", "customers": 2, "ltv": [6500.0, 9000.0, 9000.0]},
        {"cohort": "2025-03", "customers": 1, "ltv": [6000.0]},
    ]


def test_money_in_text_csv_and_html(tmp_path: Path) -> None:
    document = report(shop(tmp_path), MONEY_WINDOW)
    text = render_text(document)
    assert "revenue: 36,000円 from 6 orders by 5 buyers, AOV 6,000円, repeat 17,000円 (47.2%)" in text
    assert "    2025-01 (2 customers): m0 6,500円 · m1 9,000円 · m2 9,000円" in text
    rows = render_csv(document).splitlines()
    assert "money_by_entry_channel,,ad_lp,revenue,14000" in rows and "cohort_ltv,,2025-01,month_1,9000.0" in rows
    page = render_html(document)
    for table in ("money-overall", "money-phase", "money-channel", "money-segment", "cohorts"):
        assert f'id="{table}"' in page


# ---------------------------------------------------------------------------- a scenario's money and verdicts


SCENARIO = (
    'scenario f2 "F2" {\n  kind sell\n  hypothesis f2_rate "t" target +3pt within 30d\n'
    "  when order.placed where customer.order_count == 1\n  goal order.placed repeat within 30d\n"
    "  holdout 50%\n  @thanks after 1h: send email mail\n}\n"
)


@pytest.fixture(scope="module", params=BACKENDS)
def ran(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """200 first buyers (1 March 10:00) through a scenario with a 50% holdout. Every messaged customer buys
    5,000円 again on 10 March, one of them 1,000,000円; every other held-out customer buys 2,000円; everybody
    buys again on 10 April (after the 30 days). Two messaged customers unsubscribe two days after the mail,
    one twenty days after; three deliveries failed."""
    store = None
    database = None
    if request.param == "postgresql":
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        database = cluster.new_database()
        store = cluster.url(database)
    w = World(tmp_path_factory.mktemp("ran"), store)
    w.templates(template("mail"))
    w.write("scenarios/f2.ecrm", SCENARIO)
    w.deploy(at(1, 0))
    ids = [f"c{i:03d}" for i in range(200)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.ticks(at(1, 10), at(1, 12))
    held = holdout_ids(w)
    messaged = sorted(set(ids) - held)
    bulk_orders(w, [c for c in messaged if c != messaged[0]], at(10, 12), prefix="again")
    w.order(messaged[0], at(10, 12), 1_000_000)
    for cid in sorted(held)[::2]:
        w.order(cid, at(10, 12), 2000)
    bulk_orders(w, ids, at(10, 12, month=4), prefix="late")
    for cid in messaged[1:3]:
        w.event(cid, "customer.unsubscribed", at(3, 12))
    w.event(messaged[3], "customer.unsubscribed", at(21, 12))
    o = TABLES.outbox
    with w.engine.begin() as conn:
        conn.execute(update(o).where(o.c.customer_id.in_(messaged[-3:])).values(status="failed"))
        conn.execute(update(o).where(o.c.customer_id.in_(messaged[:-3])).values(status="sent"))
    yield w
    w.engine.dispose()
    if database is not None:
        request.getfixturevalue("pg_cluster").drop_database(database)


def holdout_ids(w: World) -> set[str]:
    n = TABLES.enrollments
    with w.engine.connect() as conn:
        return set(conn.execute(select(n.c.customer_id).where(n.c.holdout)).scalars())


END = Window(at(1, 0), at(15, 0, month=4))  # every enrollee's 30 days have passed


def scenario_result(w: World, window: Window = END, plan: Plan | None = None) -> dict[str, Any]:
    result: dict[str, Any] = report(w, window, plan)["scenarios"][0]
    return result


def test_revenue_per_enrollee_is_winsorised_and_the_increment_has_welch_interval(ran: World) -> None:
    held = holdout_ids(ran)
    n_h, n_t = len(held), 200 - len(held)
    holdout_buyers = len(sorted(held)[::2])
    revenue = scenario_result(ran)["revenue"]
    assert revenue["window_days"] == 30
    # The entry order and the April orders are outside the 30 days after entry.
    assert revenue["treated"]["revenue"] == 5000 * (n_t - 1) + 1_000_000
    assert revenue["holdout"]["revenue"] == 2000 * holdout_buyers
    assert (revenue["treated"]["n"], revenue["holdout"]["n"]) == (n_t, n_h)
    # The 99th percentile of 200 enrollees is the 198th smallest revenue: 5,000 (only the 1,000,000 is above).
    assert revenue["winsorised_at"] == 5000
    assert revenue["treated"]["per_customer_winsorised"] == 5000.0
    capped_holdout = [2000.0] * holdout_buyers + [0.0] * (n_h - holdout_buyers)
    expected = 5000 - statistics.mean(capped_holdout)
    assert revenue["incremental_per_customer"] == pytest.approx(expected, abs=1e-6)
    half = Z95 * math.sqrt(0 / n_t + statistics.variance(capped_holdout) / n_h)
    assert revenue["ci95"] == [pytest.approx(expected - half, abs=1e-5), pytest.approx(expected + half, abs=1e-5)]


def test_deliveries_failures_and_unsubscribes(ran: World) -> None:
    result = scenario_result(ran)
    n_t = result["messaged"]
    delivery = result["delivery"]
    assert (delivery["delivered"], delivery["failed"], delivery["pending"]) == (n_t - 3, 3, 0)
    assert delivery["failure_rate"] == pytest.approx(3 / n_t, abs=1e-6)
    assert delivery["skipped_by_cause"] == {"holdout": result["holdout"]} and delivery["skipped"] == 0
    # Two unsubscribed two days after the mail; the third, twenty days after, is past the seven days.
    assert (delivery["reached"], delivery["unsubscribed"]) == (n_t - 3, 2)
    step = result["steps"][0]
    assert step["sent"] == n_t - 3 and step["failed"] == 3  # "sent" no longer counts failed deliveries
    # The store has no message.opened or message.clicked event: not tracked, not zero.
    assert step["opened"] is None and step["open_rate"] is None
    assert {f["stage"]: f["count"] for f in result["funnel"]}["opened"] is None
    text = render_text(report(ran, END))
    assert "opened not tracked, clicked not tracked" in text and "opened not tracked →" in text
    assert "failed 3" in text and "unsubscribed within 7 days of a message: 2 of" in text


def with_target(plan: Plan, kpi: str, amount: float, unit: str, days: int) -> Plan:
    s = plan.scenarios[0]
    return replace(plan, scenarios=(replace(s, hypothesis=Hypothesis(kpi, "t", Target(amount, unit, days * 86400))),))


def test_hypothesis_verdicts(ran: World) -> None:
    plan = ran.plan()
    held = holdout_ids(ran)
    buyers = len(sorted(held)[::2])
    # f2_rate +3pt within 30d (the scenario's own): every messaged customer ordered again, half the holdout did.
    entry = scenario_result(ran, plan=plan)["hypothesis"]
    assert entry["target"]["text"] == "+3pt within 30d"
    measured = entry["measured"]
    assert measured["treated"]["rate"] == 1.0 and measured["holdout"]["buyers"] == buyers
    assert measured["effect"] == pytest.approx(1 - buyers / len(held), abs=1e-6)
    assert entry["verdict"] == "supported"
    # ltv +5,000円: the winsorised increment is about 4,000円 with an interval of a few hundred: ruled out.
    entry = scenario_result(ran, plan=with_target(plan, "ltv", 5000, "円", 30))["hypothesis"]
    assert entry["measured"]["cap"] == 5000 and entry["measured"]["ci95"][1] < 5000
    assert entry["verdict"] == "not supported"
    # ltv +50%: messaged 5,000 against about 1,000 per customer, +400% relative: supported.
    entry = scenario_result(ran, plan=with_target(plan, "ltv", 50, "%", 30))["hypothesis"]
    assert entry["measured"]["effect"] == pytest.approx(5000 / (2000 * buyers / len(held)) - 1, abs=1e-5)
    assert entry["verdict"] == "supported"
    # aov: every messaged order is 5,000 (one 1,000,000, not winsorised: an order value), held-out ones 2,000.
    entry = scenario_result(ran, plan=with_target(plan, "aov", 500, "円", 30))["hypothesis"]
    treated_aov = (5000 * (200 - len(held) - 1) + 1_000_000) / (200 - len(held))
    assert entry["measured"]["treated"]["value"] == pytest.approx(treated_aov, abs=0.01)
    assert entry["measured"]["holdout"]["value"] == 2000.0
    # Before anybody's 30 days have passed there is nothing to judge yet.
    early = Window(at(1, 0), at(20, 0))
    entry = scenario_result(ran, early, plan)["hypothesis"]
    assert entry["verdict"] == "not yet enough data" and "window has passed" in entry["reason"]
    # A 365-day target on the same data: nobody's year has passed by 15 April.
    entry = scenario_result(ran, plan=with_target(plan, "f2_rate", 3, "pt", 365))["hypothesis"]
    assert entry["verdict"] == "not yet enough data"
    text = render_text(report(ran, END, plan))
    assert "    target +3pt within 30d" in text and "    verdict: supported — " in text
    # Without a holdout there is nothing to compare with, whatever the data.
    no_holdout = replace(plan, scenarios=(replace(plan.scenarios[0], holdout_percent=0),))
    entry = scenario_result(ran, plan=no_holdout)["hypothesis"]
    assert (entry["verdict"], entry["measured"]) == ("not measurable", None)


def test_a_holdout_out_of_proportion_is_flagged(ran: World, tmp_path: Path) -> None:
    result = scenario_result(ran)
    holdout_check = result["experiments"][0]
    assert holdout_check["kind"] == "holdout" and not holdout_check["mismatch"]
    # Moving 40 messaged enrollments into the holdout makes the split far from 50:50 (p far below 0.001).
    n = TABLES.enrollments
    with ran.engine.begin() as conn:
        moved = list(conn.execute(select(n.c.id).where(~n.c.holdout).order_by(n.c.id).limit(40)).scalars())
        conn.execute(update(n).where(n.c.id.in_(moved)).values(holdout=True))
    try:
        flagged = scenario_result(ran)
        check = flagged["experiments"][0]
        messaged, held = flagged["messaged"], flagged["holdout"]
        expected = 2 * ((messaged - 100) ** 2 / 100)  # chi² of two groups expected at 100 each
        assert check["chi2"] == pytest.approx(expected) and check["mismatch"] and check["p"] < 0.001
        assert any("sample ratio mismatch" in w for w in flagged["warnings"])
        assert messaged + held == 200
        text = render_text(report(ran, END))
        assert "SAMPLE RATIO MISMATCH" in text
    finally:
        with ran.engine.begin() as conn:
            conn.execute(update(n).where(n.c.id.in_(moved)).values(holdout=False))


def test_split_checks_read_the_plan_weights(ran: World) -> None:
    scenario = ran.plan().scenarios[0]
    # The scenario has no split: only the holdout is checked.
    assert [c["kind"] for c in scenario_checks(scenario, 100, 100, {})] == ["holdout"]
    # A split of weights 1:3 (a scenario with no holdout): 100 and 300 are exactly as configured.
    split = SplitNode("test", None, None, None, (Variant("a", 1, None), Variant("b", 3, None)))
    lopsided = replace(scenario, holdout_percent=0, nodes=(split,))
    (check,) = scenario_checks(lopsided, 400, 0, {("test", "a"): 100, ("test", "b"): 300})
    assert (check["kind"], check["name"], check["chi2"], check["p"], check["mismatch"]) == (
        "split",
        "test",
        0.0,
        1.0,
        False,
    )
    (check,) = scenario_checks(lopsided, 400, 0, {("test", "a"): 160, ("test", "b"): 240})
    # chi² = 60²/100 + 60²/300 = 48, one degree of freedom: p = erfc(sqrt(24)), far below 0.001.
    assert check["chi2"] == pytest.approx(48.0) and check["mismatch"]
    assert check["p"] == pytest.approx(math.erfc(math.sqrt(24)), rel=1e-5)


def test_too_small_groups_are_warned_about(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.templates(template("mail"))
    w.write("scenarios/f2.ecrm", SCENARIO)
    w.deploy(at(1, 0))
    ids = [f"c{i}" for i in range(12)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.ticks(at(1, 10), at(1, 12))
    result = scenario_result(w)
    assert any(x.startswith("conversion: too small to conclude") for x in result["warnings"])
    assert result["hypothesis"]["verdict"] == "not yet enough data"
    assert "fewer than 10" in result["hypothesis"]["reason"]


def test_the_command_prints_the_new_sections(ran: World) -> None:
    result = CliRunner().invoke(cli, ["report", "--store", ran.store, "--from", "2025-03-01", "--to", "2025-04-15"])
    assert result.exit_code == 0, result.output
    assert "revenue per enrollee within 30 days: messaged 5,000円" in result.stdout
    assert "sample ratio, holdout:" in result.stdout and "hypothesis f2_rate: t" in result.stdout


def test_opens_are_tracked_per_channel(tmp_path: Path) -> None:
    w = World(tmp_path)
    w.templates(template("mail"))
    w.write("scenarios/f2.ecrm", SCENARIO)
    w.deploy(at(1, 0))
    ids = [f"c{i}" for i in range(6)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.ticks(at(1, 10), at(1, 12))
    # The shop tracks LINE opens only: the e-mail step's opens are unknown, not zero.
    w.event("c0", "message.opened", at(2, 9), scenario="other", step="x", channel="line")
    step = scenario_result(w)["steps"][0]
    assert (step["channel"], step["opened"], step["open_rate"]) == ("email", None, None)
    messaged = next(c for c in ids if c not in holdout_ids(w))
    w.event(messaged, "message.opened", at(2, 9), scenario="f2", step="thanks", channel="email")
    step = scenario_result(w)["steps"][0]
    assert step["opened"] == 1 and step["open_rate"] == pytest.approx(1 / step["sent"], abs=1e-6)
    assert step["clicked"] is None  # still no click event at all
