"""Checking a plan before the runtime trusts it: JSON, nesting depth, format and version, the JSON Schema
(``schemas/plan.schema.json``), then what a schema cannot say — every node, segment and template a plan names
exists, a scenario's graph has no cycle, and each scenario's hash matches its content.

Every problem is reported with the plan's source and the JSON path of the value (``$.scenarios[0].nodes[2]
.next``), never as a traceback: a plan can come from a file someone edited, or from a store written by an
older ecrm-dsl.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from ecrm_dsl.language.i18n import lookup, tr
from ecrm_dsl.plan.contract import PLAN_FORMAT, PLAN_VERSION
from ecrm_dsl.plan.hashing import content_hash
from ecrm_dsl.plan.nodes import Json

if TYPE_CHECKING:
    from jsonschema import Draft7Validator, ValidationError  # type: ignore[import-untyped]

MAX_DEPTH = 200  # far beyond any compiled plan; deeper JSON would exhaust the runtime's condition compilers
MAX_PROBLEMS = 5

Path = tuple[str | int, ...]


class PlanError(ValueError):
    """A plan the runtime refuses: ``source``, the problems (JSON path, what is wrong) and what to do."""

    def __init__(self, source: str, problems: list[tuple[Path, str]], remedy: str):
        self.source, self.problems, self.remedy = source, problems, remedy
        shown = [f"{source}: {json_path(path)}: {message}" for path, message in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            more = tr("… and {count} more problem(s)", count=len(problems) - MAX_PROBLEMS)
            shown.append(f"{source}: {more}")
        super().__init__("\n".join([*shown, lookup(remedy)]))  # a remedy kept in a constant is marked with n_()


def json_path(path: Path) -> str:
    """``$.scenarios[0].nodes[2].next``: keys as members, list positions as indexes; a very deep path is cut
    in the middle."""
    if len(path) > 12:
        return f"{json_path(path[:10])}…({len(path) - 11} levels)…{json_path(path[-1:])[1:]}"
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if part.isidentifier() else f"[{part!r}]"
    return out


def parse_plan(text: str, source: str, remedy: str) -> Json:
    """The plan's JSON, checked from top to bottom; raises :class:`PlanError`."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        problem = tr(
            "not JSON: {error} at line {line}, column {column}", error=exc.msg, line=exc.lineno, column=exc.colno
        )
        raise PlanError(source, [((), problem)], remedy) from None
    except RecursionError:
        problem = tr("nested too deeply to read (plans nest at most {levels} levels)", levels=MAX_DEPTH)
        raise PlanError(source, [((), problem)], remedy) from None
    check_plan(data, source, remedy)
    assert isinstance(data, dict)
    return data


def check_plan(data: Any, source: str, remedy: str) -> None:
    """Raise :class:`PlanError` unless ``data`` is a plan of this version that the runtime can run."""
    deep = _too_deep(data)
    if deep is not None:
        raise PlanError(source, [(deep, tr("nested more than {levels} levels deep", levels=MAX_DEPTH))], remedy)
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        problem = tr("not an ecrm-dsl plan (format is not '{format}')", format=PLAN_FORMAT)
        raise PlanError(source, [(("format",), problem)], remedy)
    version = data.get("version")
    if version != PLAN_VERSION or isinstance(version, bool):
        problem = tr(
            "plan version {version} is not supported (this ecrm-dsl reads version {supported})",
            version=json.dumps(version),
            supported=PLAN_VERSION,
        )
        raise PlanError(source, [(("version",), problem)], remedy)
    problems = [(tuple(e.absolute_path), _message(e)) for e in _validator().iter_errors(data)]
    if not problems:
        problems = list(_references(data))
    if problems:
        raise PlanError(source, sorted(problems, key=lambda p: _sort_key(p[0])), remedy)


# --------------------------------------------------------------------------- depth


def _too_deep(data: Any) -> Path | None:
    """The path of the first value nested deeper than MAX_DEPTH, walked without recursion."""
    stack: list[tuple[Any, Path]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            stack.extend((v, (*path, str(k))) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in enumerate(value))
    return None


# --------------------------------------------------------------------------- schema


@cache
def _validator() -> Draft7Validator:
    # Imported here: only loading a plan needs jsonschema, not importing the runtime.
    from jsonschema import Draft7Validator  # type: ignore[import-untyped]

    schema = json.loads(resources.files("ecrm_dsl.schemas").joinpath("plan.schema.json").read_text("utf-8"))
    return Draft7Validator(schema)


def _message(error: ValidationError) -> str:
    """The validator's finding in our words."""
    kind: Any = error.validator
    instance: Any = error.instance
    value: Any = error.validator_value
    schema: Any = error.schema
    if kind == "required":
        missing = [name for name in value if name not in instance]
        return f"missing {', '.join(repr(m) for m in missing)}"
    if kind == "additionalProperties":
        known = set(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in known)
        return f"unexpected {', '.join(repr(k) for k in extra)}"
    if kind == "type":
        wanted = value
        wanted = wanted if isinstance(wanted, str) else " or ".join(wanted)
        return f"expected {wanted}, found {_json_type(instance)} {_short(instance)}"
    if kind in ("enum", "const"):
        allowed = value if kind == "enum" else [value]
        return f"{_short(instance)} is not one of {', '.join(json.dumps(a, ensure_ascii=False) for a in allowed)}"
    if kind == "pattern":
        return f"{_short(instance)} is malformed (expected the pattern {error.validator_value})"
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        return f"{_short(instance)} must be {word} {error.validator_value}"
    if kind in ("minItems", "minLength"):
        return "must not be empty"
    if kind == "not":
        return "'on_event' and 'on_timeout' belong only to a wait for an event"
    if kind == "anyOf" and error.context:
        # null-or-something: the interesting complaint is the one about the something.
        best = max(error.context, key=lambda e: len(e.absolute_path))
        return _message(best)
    return error.message


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "…"


def _sort_key(path: Path) -> tuple[tuple[int, int, str], ...]:
    return tuple((1, part, "") if isinstance(part, int) else (0, 0, part) for part in path)


# --------------------------------------------------------------------------- references


def _references(plan: Json) -> Iterator[tuple[Path, str]]:
    """Names a plan uses that it does not define, and cycles; the plan already matches the schema."""
    segments, templates = plan["segments"], plan["templates"]
    for index, name in enumerate(plan["policies"]["nurture_only"]):
        if name not in segments:
            yield ("policies", "nurture_only", index), f"names segment '{name}', which the plan does not have"
    for name, segment in segments.items():
        yield from _segment_calls(segment["condition"], ("segments", name, "condition"), segments)
    seen: set[str] = set()
    for index, scenario in enumerate(plan["scenarios"]):
        where: Path = ("scenarios", index)
        if scenario["id"] in seen:
            yield (*where, "id"), f"scenario '{scenario['id']}' appears twice"
        seen.add(scenario["id"])
        yield from _scenario(scenario, where, segments, templates)


def _scenario(scenario: Json, where: Path, segments: Json, templates: Json) -> Iterator[tuple[Path, str]]:
    if content_hash(scenario) != scenario["hash"]:
        # Versions are known by their hash: an edited scenario under its old hash would pass for the old version.
        yield (*where, "hash"), "does not match the scenario's content (was the plan edited after it was compiled?)"
    trigger = scenario["trigger"]
    for key in ("segment", "audience"):
        if key in trigger and trigger[key] not in segments:
            yield (*where, "trigger", key), f"names segment '{trigger[key]}', which the plan does not have"
    for path, condition in _conditions(scenario, where):
        yield from _segment_calls(condition, path, segments)
    nodes: dict[str, Json] = {}
    ids = {node["id"] for node in scenario["nodes"]}
    for index, node in enumerate(scenario["nodes"]):
        if node["id"] in nodes:
            yield (*where, "nodes", index, "id"), f"node '{node['id']}' appears twice"
        nodes[node["id"]] = node
        if node["kind"] == "send" and node["template"] not in templates:
            yield (*where, "nodes", index, "template"), f"names template '{node['template']}', not in the plan"
        for path, target in _targets(node, (*where, "nodes", index)):
            if target is not None and target not in ids:
                yield path, f"points at node '{target}', which the scenario does not have"
    start = scenario["start"]
    if start is None and nodes:
        yield (*where, "start"), "is null although the scenario has nodes"
    elif start is not None and start not in nodes:
        yield (*where, "start"), f"points at node '{start}', which the scenario does not have"
    cycle = _cycle(nodes)
    if cycle:
        yield (*where, "nodes"), f"the steps loop: {' → '.join(cycle)} (a scenario's steps must not lead back)"


def _targets(node: Json, path: Path) -> Iterator[tuple[Path, str | None]]:
    yield (*path, "next"), node["next"]
    for key in ("on_event", "on_timeout"):
        if key in node:
            yield (*path, key), node[key]
    for key in ("arms", "variants"):
        for index, item in enumerate(node.get(key, ())):
            yield (*path, key, index, "next"), item["next"]


def _cycle(nodes: dict[str, Json]) -> list[str] | None:
    """A loop in the node graph (as the ids along it), found by an iterative depth-first walk."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in nodes:
        if root in state:
            continue
        path: list[str] = [root]
        pending: list[Iterator[str | None]] = [iter([t for _, t in _targets(nodes[root], ())])]
        state[root] = 1
        while pending:
            target = next(pending[-1], "")
            if target == "":
                state[path.pop()] = 2
                pending.pop()
                continue
            if target is None or target not in nodes:
                continue
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state:
                state[target] = 1
                path.append(target)
                pending.append(iter([t for _, t in _targets(nodes[target], ())]))
    return None


def _conditions(scenario: Json, where: Path) -> Iterator[tuple[Path, Any]]:
    yield (*where, "trigger", "where"), scenario["trigger"]["where"]
    for index, goal in enumerate(scenario["goals"]):
        yield (*where, "goals", index, "where"), goal["where"]
    for index, rule in enumerate(scenario["stop"]):
        key = "when" if "when" in rule else "where"
        yield (*where, "stop", index, key), rule[key]
    for index, node in enumerate(scenario["nodes"]):
        at = (*where, "nodes", index)
        yield (*at, "guard"), node["guard"]
        if node["kind"] == "wait":
            yield (*at, "where"), node["where"]
        for arm_index, arm in enumerate(node.get("arms", ())):
            yield (*at, "arms", arm_index, "condition"), arm["condition"]


def _segment_calls(condition: Any, path: Path, segments: Json) -> Iterator[tuple[Path, str]]:
    """``in_segment(x)`` calls whose segment the plan lacks (the runtime would fail at the first tick)."""
    stack = [condition]
    while stack:
        value = stack.pop()
        if not isinstance(value, list):
            continue
        if len(value) == 3 and value[:2] == ["call", "in_segment"] and isinstance(value[2], list):
            name = value[2][1] if len(value[2]) == 2 and value[2][0] == "name" else None
            if not isinstance(name, str) or name not in segments:
                yield path, f"in_segment({name}) names a segment the plan does not have"
        stack.extend(value)
