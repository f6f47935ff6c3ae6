"""The benchmark's generated projects lint clean: no errors and no warnings, so the benchmark times a linter
reading good files (as its README says), not one printing thousands of findings."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from scenario_factory import trigger_key, write_project


@pytest.mark.parametrize("seed", [20240601, 7])
def test_a_generated_project_lints_without_findings(tmp_path: Path, seed: int) -> None:
    project = write_project(tmp_path, 150, seed)
    result = lint(load_config(project.config))
    assert [f"{d.span} {d.code} {d.message}" for d in result.diagnostics] == []
    assert len(result.files) > 150  # the scenarios, and the segments, templates, schema and policies
    # The check is not empty: many scenarios share a trigger (which W511 and W513 compare), and all kinds appear.
    texts = [p.read_text(encoding="utf-8") for p in project.scenario_files]
    assert len(texts) - len({trigger_key(yaml.safe_load(text)["trigger"]) for text in texts}) > 100
    assert {"event trigger", "segment trigger", "schedule trigger", "date trigger"} <= set(project.features)
    assert all("delivery_group ==" in text for text in texts)


def test_the_same_seed_writes_the_same_files(tmp_path: Path) -> None:
    first = write_project(tmp_path / "a", 20, 3)
    second = write_project(tmp_path / "b", 20, 3)
    assert [p.read_bytes() for p in first.scenario_files] == [p.read_bytes() for p in second.scenario_files]
