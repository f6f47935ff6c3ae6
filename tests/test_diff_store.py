"""``ecrm diff --store``: customers enrolled at the changed steps and audience sizes before and after, read only."""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.cli import cli
from ecrm_dsl.cli.diff_cmd import diff_command
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.review.diff_impact import audience_condition, customer_part
from ecrm_dsl.runtime.deploy import deploy
from tests.runtime.world import JST, World

GOLDEN = Path(__file__).parent / "golden" / "diff"
NOW = dt.datetime(2025, 3, 4, 13, tzinfo=JST)


def run(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner(env=env).invoke(diff_command, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def dump(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return list(conn.iterdump())


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The f2_release "before" plan deployed, two first-time buyers in flight, two lapsed customers."""
    world = World(tmp_path_factory.mktemp("diff-store"))
    config = load_config(GOLDEN / "f2_release" / "before" / "ecrm.toml")
    plan = Plan.from_json(compile_workspace(lint(config).workspace)[0])
    first_order = dt.datetime(2025, 3, 1, 12, tzinfo=JST)
    deploy(world.engine, plan, first_order - dt.timedelta(hours=1))
    for cid in ("C1", "C2", "C3", "C4"):
        world.customer(cid)
    world.order("C1", first_order)
    world.order("C4", first_order - dt.timedelta(days=2))  # within the 7-day backfill: enters too
    world.order("C2", first_order - dt.timedelta(days=130))  # dormant 120+ days, not 150+
    world.order("C3", first_order - dt.timedelta(days=160))  # dormant 150+ days
    world.ticks(first_order + dt.timedelta(hours=1), NOW, dt.timedelta(hours=6))
    world.engine.dispose()
    return world.root / "store.db"


def test_impact_in_text(store: Path) -> None:
    before = dump(store)
    result = run(GOLDEN / "f2_release", "before", "after", "--store", str(store), "--now", NOW.isoformat())
    assert result.exit_code == 1, result.output
    text = result.stdout
    assert f"impact from store {store} at 2025-03-04T13:00:00+09:00" in text
    f2 = text[text.index("scenario f2_step_mail: changed") :].split("\n\n")[0]
    assert f2.splitlines()[-1] == "  enrolled now: 2 customers — waiting at changed steps: f2_second_order_coupon 2"
    winback = text[text.index("scenario dormant_150_winback: changed") :].split("\n\n")[0]
    assert winback.splitlines()[-2:] == [
        "  enrolled now: none",
        "  audience: 1 → 2 customers (+1) — customers matching the entry audience now",
    ]
    segment = text[text.index("segment dormant_150: changed") :].split("\n\n")[0]
    assert segment.splitlines()[-1] == "  audience: 1 → 2 customers (+1) — customers in the segment"
    template = text[text.index("template f2_second_order_coupon: changed") :].split("\n\n")[0]
    assert template.splitlines()[-1] == "  waiting at steps that send it: f2_step_mail.f2_second_order_coupon 2"
    assert "template f2_thanks: changed" in text and "  no customers wait at a step that sends it" in text
    assert "scenario birthday_coupon: added" in text and "enrolled now" not in text.split("\n\n")[2]
    assert dump(store) == before  # read only


def test_impact_in_json_and_markdown(store: Path) -> None:
    result = run(
        GOLDEN / "f2_release",
        "before",
        "after",
        "--format",
        "json",
        "--now",
        NOW.isoformat(),
        env={"ECRM_STORE": str(store)},
    )
    impact = json.loads(result.stdout)["impact"]
    assert impact["store"] == str(store) and impact["now"] == "2025-03-04T13:00:00+09:00"
    assert impact["scenarios"]["f2_step_mail"] == {
        "in_flight": 2,
        "at_steps": {"f2_second_order_coupon": 2},
        "audience": None,
    }
    assert impact["scenarios"]["dormant_150_winback"]["audience"] == {
        "before": 1,
        "after": 2,
        "basis": "customers matching the entry audience now",
        "note": None,
    }
    assert impact["templates"] == {
        "f2_second_order_coupon": {"f2_step_mail.f2_second_order_coupon": 2},
        "f2_thanks": {},
    }
    assert impact["segments"] == {
        "dormant_150": {"before": 1, "after": 2, "basis": "customers in the segment", "note": None}
    }
    markdown = run(
        GOLDEN / "f2_release",
        "before",
        "after",
        "--format",
        "markdown",
        "--no-mermaid",
        "--store",
        str(store),
        "--now",
        NOW.isoformat(),
    ).stdout
    assert "<summary><code>f2_step_mail</code> — changed: 4 changes · 2 enrolled now</summary>" in markdown
    assert "- enrolled now: 2 customers — waiting at changed steps: `f2_second_order_coupon` 2" in markdown


def test_removed_steps_and_scenarios_with_customers_in_them(store: Path, tmp_path: Path) -> None:
    """A head where the coupon step is gone: the customers waiting there need a deploy rule."""
    head = tmp_path / "head"
    import shutil

    shutil.copytree(GOLDEN / "f2_release" / "before", head)
    scenario = head / "scenarios" / "f2_step_mail.yaml"
    text = scenario.read_text("utf-8")
    scenario.write_text(text[: text.index('  - delay: { day: 7, at: "10:00" }')], encoding="utf-8")
    result = run(GOLDEN / "f2_release", "before", str(head), "--store", str(store), "--now", NOW.isoformat())
    assert result.exit_code == 1, result.output
    assert "  enrolled now: 2 customers — waiting at changed steps: f2_second_order_coupon 2" in result.stdout
    assert (
        "  2 wait at removed step f2_second_order_coupon: deploy with --in-flight keep or map it: "
        "--map f2_step_mail.f2_second_order_coupon=NEW_STEP"
    ) in result.stdout


def test_entry_conditions_on_the_event_are_left_out_of_the_count() -> None:
    where = [
        "and",
        ["cmp", "==", ["attr", "order_count"], ["lit", "int", 1]],
        ["cmp", ">=", ["event", "amount"], ["lit", "money", 1500]],
    ]
    assert customer_part(where) == ["cmp", "==", ["attr", "order_count"], ["lit", "int", 1]]
    assert customer_part(["or", where[1], where[2]]) is None
    scenario = {"trigger": {"type": "event", "event": "cart.abandoned", "where": where}}
    assert audience_condition(scenario, {"segments": {}}) == (where[1], True)
    segment = {"trigger": {"type": "segment", "segment": "s", "where": None}}
    assert audience_condition(segment, {"segments": {"s": {"condition": where[1]}}}) == (where[1], False)


def test_power_of_added_and_changed_scenarios_is_the_replay_of_recent_weeks(store: Path, tmp_path: Path) -> None:
    before = dump(store)
    common = ["before", "after", "--store", str(store), "--now", NOW.isoformat(), "--format", "json"]

    result = run(GOLDEN / "f2_release", *common, "--power", "1w", "--uplift", "3pt")

    assert result.exit_code == 1, result.output
    impact = json.loads(result.stdout)["impact"]
    assert impact["power_span"] == "1w"
    powered = {sid for sid, s in impact["scenarios"].items() if "power" in s}
    assert {"f2_step_mail", "birthday_coupon"} <= powered
    # The same figures as `ecrm simulate` of the head project over the same week.
    config = str(GOLDEN / "f2_release" / "after" / "ecrm.toml")
    start = (NOW - dt.timedelta(weeks=1)).isoformat()
    replay = CliRunner().invoke(
        cli,
        [
            *("--config", config, "simulate", "--store", str(store), "--from", start, "--to", NOW.isoformat()),
            *("--out", str(tmp_path / "sim.db"), "--uplift", "3pt", "--format", "json"),
        ],
        catch_exceptions=False,
    )
    simulated = {s["id"]: s["power"] for s in json.loads(replay.stdout)["scenarios"]}
    for sid in powered:
        assert impact["scenarios"][sid]["power"] == simulated[sid]
    f2 = impact["scenarios"]["f2_step_mail"]["power"]
    assert f2["uplift"] == 0.03 and f2["comparison"] == "messaged vs holdout"
    text = run(GOLDEN / "f2_release", *common[:-2], "--power", "1w").stdout
    assert "  power (replay of the last 1w): ~" in text
    assert dump(store) == before  # read only, the replay ran in a scratch store


def test_power_needs_a_store_and_a_span_of_weeks(store: Path) -> None:
    alone = run(GOLDEN / "f2_release", "before", "after", "--power", "4w")
    assert alone.exit_code == 2 and "give --store too" in alone.output
    short = run(GOLDEN / "f2_release", "before", "after", "--store", str(store), "--power", "3d")
    assert short.exit_code == 2 and "at least 1w" in short.output
    bad = run(GOLDEN / "f2_release", "before", "after", "--store", str(store), "--power", "4w", "--uplift", "2%")
    assert bad.exit_code == 2 and "2pt" in bad.output and "Traceback" not in bad.output
