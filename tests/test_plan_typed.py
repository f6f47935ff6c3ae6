"""The plan contract: typed records that round-trip byte for byte, the plan JSON Schema, and the loader that
refuses a plan the runtime cannot run — naming the file (or stored deployment), the JSON path and what to do."""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from ecrm_dsl.build.compiler import compile_workspace
from ecrm_dsl.cli import cli
from ecrm_dsl.language.diagnostics import Severity
from ecrm_dsl.plan.contract import PLAN_FORMAT, PLAN_VERSION
from ecrm_dsl.plan.document import PlanError, canonical_json, load_plan
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.nodes import BranchNode, ExitNode, SendNode, SplitNode, UpdateNode, WaitNode
from ecrm_dsl.plan.scenario import ScenarioPlan
from ecrm_dsl.plan.validate import MAX_DEPTH
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.runtime.deploy import deploy
from ecrm_dsl.runtime.scheduler import Scheduler
from ecrm_dsl.store import deployments
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.tables import TABLES

ROOT = Path(__file__).parent.parent
CONSTRUCTS = ROOT / "tests" / "golden" / "constructs"
SCHEMA = json.loads((ROOT / "ecrm_dsl" / "schemas" / "plan.schema.json").read_text("utf-8"))
PROJECTS = [ROOT / "pyproject.toml", *sorted((ROOT / "tests" / "golden" / "diff").glob("*/*/ecrm.toml"))]
JST = dt.timezone(dt.timedelta(hours=9))
DEPLOYED_AT = dt.datetime(2025, 3, 1, 0, 0, tzinfo=JST)

Json = dict[str, Any]


def compiled(config: Path) -> Json:
    result = lint(load_config(config))
    errors = [d for d in result.diagnostics if d.effective_severity == Severity.ERROR]
    assert not errors, [f"{d.span}: {d.message}" for d in errors]
    return compile_workspace(result.workspace)[0]


@pytest.fixture(scope="module")
def example() -> Json:
    return compiled(ROOT / "pyproject.toml")


def validator(definition: str | None = None) -> jsonschema.Draft7Validator:
    if definition is None:
        return jsonschema.Draft7Validator(SCHEMA)
    schema = {**SCHEMA["definitions"][definition], "definitions": SCHEMA["definitions"]}
    return jsonschema.Draft7Validator(schema)


# --------------------------------------------------------------------------- round trips and the schema


def test_schema_is_draft_07_and_names_the_format_and_version() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert SCHEMA["properties"]["format"] == {"const": PLAN_FORMAT}
    assert SCHEMA["properties"]["version"] == {"const": PLAN_VERSION}
    assert f"format {PLAN_FORMAT}, version {PLAN_VERSION}" in SCHEMA["title"]


@pytest.mark.parametrize("path", sorted(CONSTRUCTS.glob("*.plan.json")), ids=lambda p: p.name)
def test_golden_scenario_plans_match_the_schema_and_round_trip(path: Path) -> None:
    text = path.read_text("utf-8")
    scenarios = json.loads(text)
    for scenario in scenarios:
        assert list(validator("scenario").iter_errors(scenario)) == []
    assert canonical_json([ScenarioPlan.from_json(s).to_json() for s in scenarios]) == text


@pytest.mark.parametrize("config", PROJECTS, ids=lambda p: str(p.parent.relative_to(ROOT)) or "example")
def test_project_plans_match_the_schema_and_round_trip(config: Path) -> None:
    plan = compiled(config)
    assert list(validator().iter_errors(plan)) == []
    text = canonical_json(plan)
    typed = Plan.from_json(plan)
    assert typed.to_json() == plan
    loaded = load_plan(text, "plan.json")
    assert loaded == typed
    assert canonical_json(loaded.to_json()).encode("utf-8") == text.encode("utf-8")


def test_the_starter_project_plan_loads(tmp_path: Path) -> None:
    assert CliRunner().invoke(cli, ["init", str(tmp_path / "shop")]).exit_code == 0
    plan = compiled(tmp_path / "shop" / "ecrm.toml")
    assert load_plan(canonical_json(plan), "plan.json").to_json() == plan


def test_every_node_kind_becomes_its_record(example: Json) -> None:
    kinds = {type(node) for scenario in Plan.from_json(example).scenarios for node in scenario.nodes}
    assert kinds == {SendNode, UpdateNode, ExitNode, WaitNode, BranchNode, SplitNode}


# --------------------------------------------------------------------------- refused plans


def _find(plan: Json, kind: str, test: Callable[[Json], bool] = lambda node: True) -> tuple[int, int, Json]:
    for s_index, scenario in enumerate(plan["scenarios"]):
        for n_index, node in enumerate(scenario["nodes"]):
            if node["kind"] == kind and test(node):
                return s_index, n_index, node
    raise AssertionError(f"the example plan has no {kind} node")


def _ghost_next(plan: Json) -> str:
    plan["scenarios"][0]["nodes"][0]["next"] = "ghost"
    return "$.scenarios[0].nodes[0].next: points at node 'ghost', which the scenario does not have"


def _ghost_arm(plan: Json) -> str:
    s, n, node = _find(plan, "branch")
    node["arms"][0]["next"] = "ghost"
    return f"$.scenarios[{s}].nodes[{n}].arms[0].next: points at node 'ghost'"


def _ghost_variant(plan: Json) -> str:
    s, n, node = _find(plan, "split")
    node["variants"][1]["next"] = "ghost"
    return f"$.scenarios[{s}].nodes[{n}].variants[1].next: points at node 'ghost'"


def _ghost_timeout(plan: Json) -> str:
    s, n, node = _find(plan, "wait", lambda node: node["event"] is not None)
    node["on_timeout"] = "ghost"
    return f"$.scenarios[{s}].nodes[{n}].on_timeout: points at node 'ghost'"


def _ghost_start(plan: Json) -> str:
    plan["scenarios"][1]["start"] = "ghost"
    return "$.scenarios[1].start: points at node 'ghost'"


def _ghost_template(plan: Json) -> str:
    s, n, node = _find(plan, "send")
    del plan["templates"][node["template"]]
    return f"$.scenarios[{s}].nodes[{n}].template: names template '{node['template']}', not in the plan"


def _ghost_segment_in_wait(plan: Json) -> str:
    s, n, node = _find(plan, "wait", lambda node: node["event"] is not None)
    node["where"] = ["call", "in_segment", ["name", "ghost_segment"]]
    return f"$.scenarios[{s}].nodes[{n}].where: in_segment(ghost_segment) names a segment the plan does not have"


def _loop(plan: Json) -> str:
    nodes = plan["scenarios"][0]["nodes"]
    nodes[1]["next"] = nodes[0]["id"]
    return f"$.scenarios[0].nodes: the steps loop: {nodes[0]['id']} → {nodes[1]['id']} → {nodes[0]['id']}"


def _twice(plan: Json) -> str:
    nodes = plan["scenarios"][0]["nodes"]
    nodes.append(copy.deepcopy(nodes[0]))
    return f"$.scenarios[0].nodes[{len(nodes) - 1}].id: node '{nodes[0]['id']}' appears twice"


def _edited_after_compiling(plan: Json) -> str:
    plan["scenarios"][3]["title"] += "(改)"
    return "$.scenarios[3].hash: does not match the scenario's content (was the plan edited after it was compiled?)"


def _missing_trigger(plan: Json) -> str:
    del plan["scenarios"][2]["trigger"]
    return "$.scenarios[2]: missing 'trigger'"


def _unexpected_key(plan: Json) -> str:
    plan["scenarios"][0]["nodes"][0]["colour"] = "red"
    return "$.scenarios[0].nodes[0]: unexpected 'colour'"


def _wrong_type(plan: Json) -> str:
    plan["scenarios"][0]["holdout_percent"] = "10%"
    return '$.scenarios[0].holdout_percent: expected integer, found string "10%"'


def _unknown_kind(plan: Json) -> str:
    plan["scenarios"][0]["nodes"][0]["kind"] = "sned"
    return '$.scenarios[0].nodes[0].kind: "sned" is not one of "send", "update"'


def _bad_condition(plan: Json) -> str:
    name = sorted(plan["segments"])[0]
    plan["segments"][name]["condition"] = ["maybe", 1]
    return f'$.segments.{name}.condition[0]: "maybe" is not one of "and", "or"'


def _wrong_format(plan: Json) -> str:
    plan["format"] = "something-else"
    return "$.format: not an ecrm-dsl plan (format is not 'ecrm-plan')"


def _newer_version(plan: Json) -> str:
    plan["version"] = PLAN_VERSION + 1
    return f"$.version: plan version {PLAN_VERSION + 1} is not supported (this ecrm-dsl reads version {PLAN_VERSION})"


def _version_as_text(plan: Json) -> str:
    plan["version"] = str(PLAN_VERSION)
    return f'$.version: plan version "{PLAN_VERSION}" is not supported'


MUTATIONS = [
    _ghost_next,
    _ghost_arm,
    _ghost_variant,
    _ghost_timeout,
    _ghost_start,
    _ghost_template,
    _ghost_segment_in_wait,
    _loop,
    _twice,
    _edited_after_compiling,
    _missing_trigger,
    _unexpected_key,
    _wrong_type,
    _unknown_kind,
    _bad_condition,
    _wrong_format,
    _newer_version,
    _version_as_text,
]


@pytest.mark.parametrize("mutate", MUTATIONS, ids=lambda f: f.__name__.strip("_"))
def test_a_broken_plan_is_refused_with_its_json_path(example: Json, mutate: Callable[[Json], str]) -> None:
    plan = copy.deepcopy(example)
    expected = mutate(plan)
    with pytest.raises(PlanError) as caught:
        load_plan(canonical_json(plan), "shop/plan.json", "recompile it")
    message = str(caught.value)
    assert f"shop/plan.json: {expected}" in message, message
    assert message.endswith("\nrecompile it")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "$: not JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
        ("[" * 100_000, f"$: nested too deeply to read (plans nest at most {MAX_DEPTH} levels)"),
        ('{"a": ' + "[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5) + "}", "levels)…[0]: nested more than"),
        ("[1, 2]", "$.format: not an ecrm-dsl plan"),
    ],
    ids=["not-json", "too-deep-to-parse", "too-deep", "not-an-object"],
)
def test_text_that_is_no_plan_is_refused(text: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        load_plan(text, "plan.json", "recompile it")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("plan.json: $")


def test_many_problems_are_listed_a_few_at_a_time(example: Json) -> None:
    plan = copy.deepcopy(example)
    for template in plan["templates"].values():
        del template["content"]
    with pytest.raises(PlanError) as caught:
        load_plan(canonical_json(plan), "plan.json", "recompile it")
    lines = str(caught.value).splitlines()
    first = sorted(plan["templates"])[0]
    assert lines[0] == f"plan.json: $.templates.{first}: missing 'content'"
    assert lines[5] == f"plan.json: … and {len(plan['templates']) - 5} more problem(s)"
    assert lines[6] == "recompile it"


# --------------------------------------------------------------------------- the command line


OUTBOX = ("--file-outbox", "outbox")  # `ecrm run` needs a way to deliver


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_deploy_refuses_a_plan_file_with_a_missing_node(tmp_path: Path, example: Json) -> None:
    plan = copy.deepcopy(example)
    plan["scenarios"][0]["nodes"][0]["next"] = "ghost"
    path = tmp_path / "plan.json"
    path.write_text(canonical_json(plan), encoding="utf-8")
    code, output = _cli("deploy", "--plan", str(path), "--store", str(tmp_path / "s.db"))
    assert code == 2
    assert output.startswith(f"ecrm deploy: {path}: $.scenarios[0].hash: does not match the scenario's content")
    assert f"\n{path}: $.scenarios[0].nodes[0].next: points at node 'ghost'" in output
    assert "`ecrm compile -o FILE`" in output
    with open_store(tmp_path / "s.db").connect() as conn:
        assert deployments.count_deployments(conn) == 0


def test_deeply_nested_plan_file_is_refused_by_the_console_script(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"format": "ecrm-plan", "version": 1, "x": ' + "[" * 50_000 + "]" * 50_000 + "}", "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl", "deploy", "--plan", str(path), "--store", str(tmp_path / "s.db")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        encoding="utf-8",
    )
    assert result.returncode == 2, result.stderr
    assert f"ecrm deploy: {path}: $: nested too deeply to read" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- stored plans


def _deployed_store(tmp_path: Path, example: Json) -> Path:
    store = tmp_path / "store.db"
    deploy(open_store(store), Plan.from_json(example), DEPLOYED_AT)
    return store


def _rewrite_stored_plan(store: Path, change: Callable[[Json], None]) -> None:
    engine = open_store(store)
    with engine.begin() as conn:
        stored = json.loads(conn.execute(select(TABLES.deployments.c.plan)).scalar_one())
        change(stored)
        conn.execute(update(TABLES.deployments).values(plan=canonical_json(stored)))


def test_the_runtime_reads_stored_plans_as_typed_records(tmp_path: Path, example: Json) -> None:
    store = _deployed_store(tmp_path, example)
    engine = open_store(store)
    with engine.connect() as conn:
        stored_text = conn.execute(select(TABLES.deployments.c.plan)).scalar_one()
        active = deployments.active_deployment(conn)
        current, by_hash = Scheduler(engine).versions(conn)
    assert stored_text == canonical_json(example)  # canonical_json is how the store writes plans
    assert active is not None and isinstance(active[1], Plan) and active[1] == Plan.from_json(example)
    assert sorted(v.id for v in current) == sorted(s["id"] for s in example["scenarios"])
    assert all(isinstance(v.scenario, ScenarioPlan) and v.scenario == active[1].scenario(v.id) for v in current)
    assert set(by_hash) == {s["hash"] for s in example["scenarios"]}


def test_an_older_plan_version_in_the_store_is_refused_until_redeployed(tmp_path: Path, example: Json) -> None:
    store = _deployed_store(tmp_path, example)
    _rewrite_stored_plan(store, lambda plan: plan.update(version=0))
    with pytest.raises(PlanError) as caught:
        Scheduler(open_store(store)).tick(DEPLOYED_AT + dt.timedelta(hours=1))
    message = str(caught.value)
    assert message.startswith("deployment #1 in the store: $.version: plan version 0 is not supported")
    assert "redeploy the project with `ecrm deploy`" in message
    code, output = _cli("run", "--once", "--store", str(store), "--now", "2025-03-01T01:00+09:00", *OUTBOX)
    assert code == 2 and output.startswith("ecrm run: deployment #1 in the store: $.version"), output
    assert "Traceback" not in output
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(canonical_json(example), encoding="utf-8")
    assert _cli("deploy", "--plan", str(plan_file), "--store", str(store), "--now", "2025-03-01T02:00+09:00")[0] == 0
    code, output = _cli("run", "--once", "--store", str(store), "--now", "2025-03-01T03:00+09:00", *OUTBOX)
    assert code == 0, output


def test_an_old_shape_of_the_same_version_is_refused_with_what_is_missing(tmp_path: Path, example: Json) -> None:
    """Early version-1 plans carried no template content; the runtime could not render from them."""
    store = _deployed_store(tmp_path, example)
    _rewrite_stored_plan(store, lambda plan: [t.pop("content") for t in plan["templates"].values()])
    code, output = _cli("status", "--store", str(store))
    first = sorted(example["templates"])[0]
    assert code == 2
    assert output.startswith(f"ecrm status: deployment #1 in the store: $.templates.{first}: missing 'content'")
    assert "redeploy the project with `ecrm deploy`" in output


def test_deploy_stores_nothing_for_a_plan_the_runtime_could_not_run(tmp_path: Path, example: Json) -> None:
    plan = copy.deepcopy(example)
    _ghost_segment_in_wait(plan)
    engine = open_store(tmp_path / "store.db")
    with pytest.raises(PlanError, match=r"the plan to deploy: \$\.scenarios\[\d+\]\.nodes\[\d+\]\.where: in_segment"):
        deploy(engine, Plan.from_json(plan), DEPLOYED_AT)
    with engine.connect() as conn:
        assert deployments.count_deployments(conn) == 0
