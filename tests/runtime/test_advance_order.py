"""The due steps of a tick go highest priority first, batch after batch, also when a full batch moves its
enrollments on to another step due at once: the scheduler then asks only about those enrollments instead of
every due row, and must pick exactly what the question over every due row would pick. Real SQLite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ecrm_dsl.runtime import scheduler as scheduler_module
from ecrm_dsl.runtime.model import ScenarioVersion
from ecrm_dsl.runtime.steps import StepRunner
from ecrm_dsl.store import enrollments as store
from ecrm_dsl.store.enrollments import Enrollment
from tests.runtime.world import JST, POLICIES, World, template


def at(day: int, hour: int) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, tzinfo=JST)


def scenario(name: str, body: str) -> str:
    return f'scenario {name} {{\n  kind nurture\n  hypothesis engagement "t"\n  when order.placed\n{body}\n}}\n'


def test_every_batch_is_the_highest_priority_due_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scheduler_module, "BATCH", 2)
    w = World(tmp_path)
    w.templates(template("high_mail"), template("low_mail"))
    # 'high' tags first, then sends at once: its send becomes due in the middle of the tick, after full batches.
    w.write("scenarios/high.ecrm", scenario("high", '  @mark after 1h: update tag "seen"\n  send email high_mail'))
    w.write("scenarios/low.ecrm", scenario("low", "  after 1h: send email low_mail"))
    w.write("policies.yaml", POLICIES + "priority: [high, low]\n")
    w.deploy(at(1, 0))
    ids = [f"c{i}" for i in range(5)]
    for cid in ids:
        w.customer(cid)
        w.order(cid, at(1, 9))
    w.tick(at(1, 9))

    picked: list[tuple[str, str]] = []
    expected: list[tuple[str, str]] = []
    real_run = StepRunner.run

    def checked(self: StepRunner, version: ScenarioVersion, node_id: str, rows: list[Enrollment]) -> None:
        versions = self.versions or {}
        rank = {h: (v.rank, v.id) for h, v in versions.items()}
        # Asked over every due row before the batch acts: what the scheduler should have picked.
        every = store.due_groups(self.conn, self.now)
        expected.append(min(every, key=lambda g: (rank[g[0]], g[1])))
        picked.append((version.hash, node_id))
        real_run(self, version, node_id, rows)

    monkeypatch.setattr(StepRunner, "run", checked)
    w.tick(at(1, 10))
    assert picked == expected
    assert len(picked) >= 6  # three batches of 'high' tags, its sends, and 'low'
    assert sorted(s[0] for s in w.sends()) == sorted(ids * 2)
