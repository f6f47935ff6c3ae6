"""The pre-launch power estimate: group sizes against a published value and against simulated experiments, and
the estimate `ecrm simulate` prints from a replay."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.report.power import Design, PowerEstimate, design_for
from tests.runtime.adversarial_helpers import at, scenario
from tests.runtime.world import World, template


def test_equal_groups_need_what_the_textbook_formula_gives() -> None:
    # Fleiss without continuity correction, 10% -> 12%, alpha 0.05 two-sided, power 80%: 3,841 per group.
    assert Design(0.5, 0.5).entrants_needed(0.10, 0.02) == 2 * 3841
    # A smaller holdout needs more entrants in all for the same uplift.
    assert Design(0.9, 0.1).entrants_needed(0.10, 0.02) > 2 * 3841


def _rejections(design: Design, baseline: float, uplift: float, entrants: int, trials: int) -> float:
    """The share of simulated experiments a pooled two-sided z-test at 5% calls significant."""
    rng = random.Random(20261206)
    treated_n = round(entrants * design.treated_share)
    control_n = round(entrants * design.control_share)
    rejected = 0
    for _ in range(trials):
        treated = sum(rng.random() < baseline + uplift for _ in range(treated_n))
        control = sum(rng.random() < baseline for _ in range(control_n))
        pooled = (treated + control) / (treated_n + control_n)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / treated_n + 1 / control_n))
        z = (treated / treated_n - control / control_n) / spread
        rejected += abs(z) > 1.959963984540054
    return rejected / trials


@pytest.mark.parametrize("design", [Design(0.5, 0.5), Design(0.8, 0.2)])
def test_the_entrants_needed_give_the_promised_power_in_simulated_experiments(design: Design) -> None:
    needed = design.entrants_needed(0.30, 0.10)
    assert needed is not None
    assert _rejections(design, 0.30, 0.10, needed, 1500) == pytest.approx(0.80, abs=0.035)
    # And half of them clearly do not.
    assert _rejections(design, 0.30, 0.10, needed // 2, 1500) < 0.6


def test_the_smallest_detectable_uplift_inverts_the_entrants_needed() -> None:
    design = Design(0.9, 0.1)
    mde = design.detectable_uplift(0.12, 20_000)
    assert mde is not None and 0 < mde < 0.05
    assert (design.entrants_needed(0.12, mde) or 0) <= 20_000
    assert (design.entrants_needed(0.12, mde - 0.0005) or 0) > 20_000
    # Too few entrants for any uplift up to 100%, and no baseline to start from: no answer rather than a wrong one.
    assert design.detectable_uplift(0.12, 5) is None
    assert design.detectable_uplift(0.0, 20_000) is None


def test_the_weakest_comparison_of_each_experiment_shape() -> None:
    assert design_for(10, []) == (Design(0.9, 0.1), "messaged vs holdout")
    split_design, label = design_for(10, [("a", 70), ("b", 30)])
    assert label == "variant b vs holdout" and split_design == Design(pytest.approx(0.27), 0.1)
    assert design_for(0, [("a", 50), ("b", 25), ("c", 25)]) == (Design(0.25, 0.25), "variant b vs variant c")
    design, label = design_for(0, [])
    assert design is None and "cannot be measured" in label


def test_an_estimate_in_weeks_and_in_words() -> None:
    estimate = PowerEstimate(
        weekly_entrants=1000,
        baseline=0.10,
        design=Design(0.9, 0.1),
        comparison="messaged vs holdout",
        goal_window_days=30,
        uplift=0.02,
    )
    needed = Design(0.9, 0.1).entrants_needed(0.10, 0.02)
    assert needed is not None and estimate.weeks_needed == pytest.approx(needed / 1000)
    sentence = estimate.as_dict()["sentence"]
    assert sentence.startswith("~1,000 entrants a week, baseline conversion 10.0%; messaged vs holdout; +2.0pt")
    assert f"detectable after {math.ceil(needed / 1000)} weeks of enrollment plus the 30-day goal window" in sentence


HOLDOUT_FLOW = scenario(
    "thanks_flow",
    "order.placed",
    "  holdout 10%\n  @thanks after 1d at 10:00: send email mail",
    "  goal order.placed repeat within 30d",
    kind="sell",
    hypothesis="f2_rate",
)


def test_simulate_estimates_power_from_the_replay(tmp_path: Path) -> None:
    w = World(tmp_path / "source")
    w.templates(template("mail"))
    w.write("scenarios/thanks_flow.ecrm", HOLDOUT_FLOW)
    for index in range(40):
        customer = f"c{index:02d}"
        w.customer(customer)
        w.order(customer, at(2 + index % 10, 11))
        if index % 4 == 0:  # a quarter come back within the goal window
            w.order(customer, at(12 + index % 10, 15))
    store, out = str(tmp_path / "source" / "store.db"), str(tmp_path / "sim.db")
    config = str(tmp_path / "source" / "project" / "ecrm.toml")
    common = ["--config", config, "simulate", "--store", store, "--from", "2025-03-01", "--to", "2025-03-28"]
    common += ["--out", out]
    runner = CliRunner()

    result = runner.invoke(cli, [*common, "--format", "json", "--uplift", "5pt"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    (flow,) = json.loads(result.stdout)["scenarios"]
    power = flow["power"]
    assert flow["entered"] > 0
    assert power["weekly_entrants"] == pytest.approx(flow["entered"] / 4, abs=0.001)  # 28 days
    assert power["baseline"] == pytest.approx(flow["converted"] / flow["entered"], abs=1e-6)
    assert power["comparison"] == "messaged vs holdout" and power["uplift"] == 0.05
    needed = Design(0.9, 0.1).entrants_needed(power["baseline"], 0.05)
    assert needed is not None and power["weeks_needed"] == pytest.approx(needed / power["weekly_entrants"], abs=0.01)
    text = runner.invoke(cli, common, catch_exceptions=False).stdout
    assert "  power: ~10 entrants a week, baseline conversion" in text and "+2.0pt detectable after" in text
    csv_rows = runner.invoke(cli, [*common, "--format", "csv"], catch_exceptions=False).stdout.splitlines()
    assert any(row.startswith("thanks_flow,,power_weeks_needed,,") for row in csv_rows)

    # A hypothesis target in points is the uplift its holdout is asked about, whatever --uplift says.
    w.write("scenarios/thanks_flow.ecrm", HOLDOUT_FLOW.replace('"t"', '"t" target +6pt within 30d'))
    targeted = runner.invoke(cli, [*common, "--format", "json"], catch_exceptions=False)
    (flow,) = json.loads(targeted.stdout)["scenarios"]
    assert flow["power"]["uplift"] == 0.06 and flow["power"]["uplift_from"] == "the hypothesis target"
    assert "+6.0pt (the hypothesis target) detectable after" in flow["power"]["sentence"]

    for bad in ("2", "2%", "0pt", "lots"):
        refused = runner.invoke(cli, [*common, "--uplift", bad])
        assert refused.exit_code == 2 and "--uplift" in refused.output and "Traceback" not in refused.output
