"""Editing a deployed scenario: in-flight customers keep, move or are re-timed — never silently stranded."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecrm_dsl.runtime.deploy import DeployRefused
from tests.runtime.world import JST, World, template


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=JST)


V1 = """scenario s {
  kind nurture
  hypothesis engagement "t"
  when order.placed

  day 1: send email first
  @coupon day 7: send email second
}
"""
V2_EARLIER = V1.replace("@coupon day 7", "@coupon day 5")
V2_RENAMED = V1.replace("@coupon day 7", "@offer day 5")


@pytest.fixture
def world(tmp_path: Path) -> World:
    w = World(tmp_path)
    w.templates(template("first"), template("second"))
    w.write("scenarios/s.ecrm", V1)
    w.deploy(at(1, 0))
    w.customer("a")
    w.order("a", at(1, 9))
    w.ticks(at(1, 9), at(3, 9), every=dt.timedelta(hours=12))  # 'a' waits at step coupon (day 7)
    return w


def test_a_changing_deploy_must_say_what_happens_to_customers_in_flight(world: World) -> None:
    world.write("scenarios/s.ecrm", V2_EARLIER)
    with pytest.raises(DeployRefused, match=r"s \(changed\): 1 at coupon \(1\)"):
        world.deploy(at(3, 12))
    assert world.count("deployments") == 1  # nothing was recorded


def test_keep_finishes_on_the_old_version(world: World) -> None:
    world.write("scenarios/s.ecrm", V2_EARLIER)
    world.deploy(at(3, 12), in_flight="keep")
    world.ticks(at(3, 12), at(9, 12), every=dt.timedelta(hours=1))
    [_, second] = world.sends("a")
    assert second[3] == at(8, 9)  # day 7 of the old version, at the clock time of entry


def test_move_keeps_the_due_time_and_retime_recomputes_it(world: World, tmp_path: Path) -> None:
    world.write("scenarios/s.ecrm", V2_EARLIER)
    world.deploy(at(3, 12), in_flight="retime")
    world.ticks(at(3, 12), at(9, 12), every=dt.timedelta(hours=1))
    [_, second] = world.sends("a")
    assert second[3] == at(6, 9)  # day 5 of the new version


def test_a_removed_step_without_a_mapping_is_refused_and_a_mapping_moves_them(world: World) -> None:
    world.write("scenarios/s.ecrm", V2_RENAMED)
    with pytest.raises(DeployRefused, match=r"1 customers at step 'coupon'.*--map s.coupon=<new step>"):
        world.deploy(at(3, 12), in_flight="move")
    assert world.count("deployments") == 1
    world.deploy(at(3, 12), in_flight="move", mapping={"s": {"coupon": "offer"}})
    world.ticks(at(3, 12), at(9, 12), every=dt.timedelta(hours=1))
    assert [s[1] for s in world.sends("a")] == ["first", "offer"]


def test_every_delivery_records_the_plan_version_and_step(world: World) -> None:
    from sqlalchemy import select

    from ecrm_dsl.store.tables import TABLES

    with world.engine.connect() as conn:
        rows = conn.execute(select(TABLES.outbox.c.scenario_hash, TABLES.outbox.c.node_id)).all()
        versions = conn.execute(select(TABLES.scenario_versions.c.scenario_hash)).scalars().all()
    assert [r.node_id for r in rows] == ["first"]
    assert rows[0].scenario_hash in versions and rows[0].scenario_hash.startswith("sha256:")
