"""``ecrm report``: KPIs and scenario results from what a real SQLite store recorded."""

from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import insert, select

from ecrm_dsl.cli import cli
from ecrm_dsl.report.document import ReportOptions, build_report
from ecrm_dsl.report.stats import Proportion, uplift
from ecrm_dsl.store.report_queries import Window
from ecrm_dsl.store.tables import TABLES
from tests.runtime.adversarial_helpers import at, build, bulk_customers, bulk_orders, scenario
from tests.runtime.world import World

# ---------------------------------------------------------------------------- intervals against published values


def test_wilson_interval_matches_published_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857-872, table I: 81/263 → 0.2553 to 0.3662; 0/10 → 0 to 0.2775.
    low, high = Proportion(263, 81).wilson() or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    low, high = Proportion(10, 0).wilson() or (0, 0)
    assert (round(low, 4), round(high, 4)) == (0.0, 0.2775)
    assert Proportion(0, 0).wilson() is None and Proportion(0, 0).rate is None


def test_newcombe_difference_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 - 48/80, method 10: 0.0524 to 0.3339.
    result = uplift(Proportion(70, 56), Proportion(80, 48))
    assert result["points"] == pytest.approx(0.2)
    assert [round(x, 4) for x in result["ci95"]] == [0.0524, 0.3339]
    assert result["relative"] == pytest.approx(0.8 / 0.6 - 1, abs=1e-6)
    assert uplift(Proportion(5, 1), Proportion(0, 0)) == {"points": None, "ci95": None, "relative": None}


# ---------------------------------------------------------------------------- the shop's KPIs


def shop(tmp_path: Path) -> World:
    """Customers with hand-made histories: each KPI below is worked out from these lines."""
    w = World(tmp_path / "shop")
    for cid in ("f2_fast", "f2_slow", "f1_only", "too_recent", "veteran", "sleeper", "sleeper_back", "old_f1"):
        w.customer(cid)
    w.order("f2_fast", at(5, 10, month=1))  # first order in the window, second 20 days later
    w.order("f2_fast", at(25, 10, month=1))
    w.order("f2_slow", at(6, 10, month=1))  # second order 120 days later: not within 90
    w.order("f2_slow", at(6, 10, month=5))
    w.order("f1_only", at(7, 10, month=1))
    w.order("too_recent", at(20, 10, month=6))  # its 90 days have not passed by the end: not in the cohort
    w.order("veteran", at(1, 10, month=6, year=2024))  # bought before and in the window
    w.order("veteran", at(10, 10, month=2))
    w.order("sleeper", at(1, 10, month=6, year=2024))  # dormant 150+ days at the window start, stays away
    w.order("sleeper_back", at(1, 10, month=7, year=2024))  # dormant 150+ days, comes back in the window
    w.order("sleeper_back", at(3, 10, month=3))
    w.order("old_f1", at(1, 10, month=12, year=2024))  # only 31 days before the window: not dormant
    with w.engine.begin() as conn:
        conn.execute(
            insert(TABLES.subscriptions),
            [
                {
                    "id": f"s{i}",
                    "customer_id": "veteran",
                    "status": "active",
                    "started_at": at(1, 10, month=1),
                    "shipments": shipments,
                }
                for i, shipments in enumerate([1, 1, 2, 3, 3, 5])
            ],
        )
    return w


WINDOW = Window(at(1, 0, month=1), at(30, 23, month=6))


def kpis(w: World, **options: Any) -> dict[str, Any]:
    with w.engine.connect() as conn:
        document = build_report(conn, None, WINDOW, ReportOptions(store="shop", timezone="Asia/Tokyo", **options))
    result: dict[str, Any] = document["kpis"]
    return result


def test_f2_conversion_counts_first_time_buyers_whose_window_has_passed(tmp_path: Path) -> None:
    f2 = kpis(shop(tmp_path))["f2"]
    # Cohort: f2_fast, f2_slow, f1_only (first orders in the window, 90 days passed); not too_recent, not
    # veteran (first order before the window), not sleeper_back.
    assert (f2["days"], f2["cohort"], f2["converted"]) == (90, 3, 1)
    assert f2["rate"] == pytest.approx(1 / 3, abs=1e-6)
    longer = kpis(shop(tmp_path / "again"), f2_days=150)["f2"]
    assert (longer["cohort"], longer["converted"]) == (3, 2)  # f2_slow's 120 days now count


def test_repeat_rate_and_win_back(tmp_path: Path) -> None:
    result = kpis(shop(tmp_path))
    # Buyers in the window: f2_fast, f2_slow, f1_only, too_recent, veteran, sleeper_back; with 2+ orders by the
    # end: f2_fast, f2_slow, veteran, sleeper_back.
    assert (result["repeat"]["buyers"], result["repeat"]["repeaters"]) == (6, 4)
    # Dormant 150+ days on 1 January: sleeper and veteran (last 2024-06-01), sleeper_back (2024-07-01); old_f1
    # (2024-12-01) is not. Veteran and sleeper_back came back.
    assert (result["winback"]["dormant"], result["winback"]["returned"]) == (3, 2)
    assert result["winback"]["rate"] == pytest.approx(2 / 3, abs=1e-6)


def test_subscription_retention_per_shipment(tmp_path: Path) -> None:
    curve = kpis(shop(tmp_path))["subscription_retention"]
    # Six subscriptions with 1, 1, 2, 3, 3 and 5 shipments.
    assert [(p["shipment"], p["reached"]) for p in curve] == [(1, 6), (2, 4), (3, 3), (4, 1), (5, 1)]
    assert [p["rate"] for p in curve] == [
        1.0,
        pytest.approx(4 / 6, abs=1e-6),
        0.5,
        pytest.approx(1 / 6, abs=1e-6),
        pytest.approx(1 / 6, abs=1e-6),
    ]


# ---------------------------------------------------------------------------- scenario results


AB_BODY = (
    "  holdout 30%\n  @ab after 1h: split {\n    variant a 50 {\n      @ma send email mail\n    }\n"
    "    variant b 50 {\n      @mb send email mail\n    }\n  }"
)
# The stop rule never holds here; it puts the segment in the plan (a plan carries the segments it uses).
AB_EXTRA = "  goal order.placed repeat within 30d\n  stop when in_segment(big) and customer.order_count >= 50"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> World:
    """400 first buyers through an A/B scenario with a holdout; a known set of them buy again or open mail."""
    w = build(
        tmp_path_factory.mktemp("ran"),
        {"s": scenario("s", "order.placed", AB_BODY, AB_EXTRA, kind="sell")},
        segments={"big": "customer.total_spent >= 10000円"},
    )
    ids = [f"c{i:03d}" for i in range(400)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.ticks(at(1, 10), at(1, 12))
    repeaters = ids[::4]  # every fourth customer buys again, holdout or not
    bulk_orders(w, repeaters, at(5, 15), prefix="repeat")
    for cid in ids[:40]:
        w.event(cid, "message.opened", at(1, 13), scenario="s", step="ma", channel="email")
    w.tick(at(5, 16))
    return w


def scenario_result(w: World, **options: Any) -> dict[str, Any]:
    plan = w.plan()
    window = Window(at(1, 0), at(30, 0))
    with w.engine.connect() as conn:
        document = build_report(conn, plan, window, ReportOptions(store="s", timezone="Asia/Tokyo", **options))
    result: dict[str, Any] = document["scenarios"][0]
    return result


def enrollments(w: World) -> dict[str, tuple[bool, str]]:
    n = TABLES.enrollments
    with w.engine.connect() as conn:
        return {r.customer_id: (bool(r.holdout), r.status) for r in conn.execute(n.select())}


def test_messaged_against_holdout_with_uplift(ran: World) -> None:
    truth = enrollments(ran)
    held = {c for c, (h, _) in truth.items() if h}
    converted = {c for c, (_, status) in truth.items() if status == "converted"}
    result = scenario_result(ran)
    conversion = result["conversion"]
    assert result["entered"] == 400 and result["holdout"] == len(held) and result["messaged"] == 400 - len(held)
    assert conversion["holdout"]["converted"] == len(converted & held)
    assert conversion["treated"]["converted"] == len(converted - held)
    assert len(converted) == 100
    expected = uplift(Proportion(400 - len(held), len(converted - held)), Proportion(len(held), len(converted & held)))
    assert conversion["uplift"] == expected
    # Every fourth customer bought again whether messaged or not: no real uplift, and the interval says so.
    low, high = conversion["uplift"]["ci95"]
    assert low < 0 < high


def test_funnel_steps_variants_and_breakdowns(ran: World) -> None:
    result = scenario_result(ran)
    truth = enrollments(ran)
    messaged = [c for c, (h, _) in truth.items() if not h]
    funnel = {f["stage"]: f["count"] for f in result["funnel"]}
    assert funnel["entered"] == 400 and funnel["messaged"] == funnel["sent"] == len(messaged)
    assert funnel["opened"] == 40  # the message.opened events name scenario s
    steps = {s["id"]: s for s in result["steps"]}
    assert steps["ma"]["sent"] + steps["mb"]["sent"] == len(messaged)
    assert steps["ma"]["opened"] == 40 and steps["ma"]["open_rate"] == pytest.approx(40 / steps["ma"]["sent"], 1e-5)
    assert steps["mb"]["opened"] == 0 and steps["mb"]["open_rate"] == 0.0
    assert steps["ma"]["conversions"] + steps["mb"]["conversions"] == result["conversion"]["treated"]["converted"]
    variants = {v["variant"]: v for v in result["variants"]}
    assert set(variants) == {"a", "b"}
    assert variants["a"]["n"] == steps["ma"]["sent"] and variants["b"]["n"] == steps["mb"]["sent"]
    phases = {p["group"]: p for p in result["by_phase"]}
    assert set(phases) == {"F0"}  # the entry order is the first: nobody had bought before it
    big = {s["group"]: s for s in result["by_segment"]}["big"]
    # Repeaters have 10,000円 spent (two 5,000円 orders), everyone else 5,000円.
    assert big["treated"]["n"] + big["holdout"]["n"] == 100
    assert big["treated"]["rate"] == big["holdout"]["rate"] == 1.0


def test_the_command_writes_every_format_deterministically(ran: World, tmp_path: Path) -> None:
    store = str(ran.root / "store.db")
    runner = CliRunner()

    def report(*args: str) -> str:
        result = runner.invoke(cli, ["report", "--store", store, "--from", "2025-03-01", "--to", "2025-03-31", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    document = json.loads(report("--format", "json"))
    assert report("--format", "json") == report("--format", "json")
    assert document["report"]["from"] == "2025-03-01T00:00:00+09:00"
    assert document["scenarios"][0]["entered"] == 400
    rows = list(csv.DictReader(io.StringIO(report("--format", "csv"))))
    assert {"section": "funnel", "scenario": "s", "group": "", "measure": "entered", "value": "400"} in rows
    text = report()
    assert "conversion: messaged" in text and "variant ab/a" in text
    out = tmp_path / "report.html"
    html = report("--format", "html", "--output", str(out))
    assert html == "" and "<svg" in out.read_text(encoding="utf-8")


def test_the_command_refuses_bad_input_with_a_message(ran: World, tmp_path: Path) -> None:
    store = str(ran.root / "store.db")
    cases = {
        "does not exist (nothing was created)": ["--store", str(tmp_path / "missing.db")],
        "no segment named nope": ["--store", store, "--segment", "nope"],
        "must be after --from": ["--store", store, "--from", "2025-03-05", "--to", "2025-03-01"],
    }
    for message, args in cases.items():
        result = CliRunner().invoke(cli, ["report", *args])
        assert result.exit_code != 0 and message in result.output, (message, result.output)
    assert not (tmp_path / "missing.db").exists()


def test_a_scenario_without_a_goal_has_no_conversion_rate(tmp_path: Path) -> None:
    w = build(tmp_path, {"s": scenario("s", "order.placed", "  send email mail")})
    ids = [f"c{i}" for i in range(5)]
    bulk_customers(w, ids)
    bulk_orders(w, ids, at(1, 10))
    w.ticks(at(1, 10), at(1, 12))
    conversion = scenario_result(w)["conversion"]
    assert conversion["treated"] == {"n": 5, "converted": 0, "rate": None, "ci95": None}
    assert conversion["uplift"] == {"points": None, "ci95": None, "relative": None}


def test_the_split_and_the_holdout_are_checked_for_sample_ratio(ran: World) -> None:
    d = TABLES.decisions
    with ran.engine.connect() as conn:
        assigned = Counter(
            conn.execute(select(d.c.detail["variant"].as_string()).where(d.c.kind == "assigned")).scalars()
        )
    checks = {c["kind"]: c for c in scenario_result(ran)["experiments"]}
    split = checks["split"]
    assert split["name"] == "ab" and [g["observed"] for g in split["groups"]] == [assigned["a"], assigned["b"]]
    a, b = assigned["a"], assigned["b"]
    expected = (a - (a + b) / 2) ** 2 / ((a + b) / 2) * 2  # chi² against 50:50
    assert split["chi2"] == pytest.approx(expected, abs=1e-5)
    assert split["p"] == pytest.approx(math.erfc(math.sqrt(expected / 2)), rel=1e-5)
    holdout = checks["holdout"]
    assert [g["expected_share"] for g in holdout["groups"]] == [0.7, 0.3]
    assert sum(g["observed"] for g in holdout["groups"]) == 400
