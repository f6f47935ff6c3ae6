"""AST → YAML in the layout ``ecrm fmt`` writes (:mod:`ecrm_dsl.syntax.yaml_style`, keys in the schema's order);
conditions are written in the text syntax's condition language."""

from __future__ import annotations

from typing import Any

import yaml

from ecrm_dsl.language import ast
from ecrm_dsl.language.targets import spell_target
from ecrm_dsl.syntax.common import step_id
from ecrm_dsl.syntax.text_printer import expr_text
from ecrm_dsl.syntax.yaml_style import INDENT, WIDTH, Dumper

SCHEMA_COMMENT = "# yaml-language-server: $schema={schema}\n"


def print_yaml(items: list[ast.SourceItem], schema_ref: str | None = None) -> str:
    documents = [preset_use_data(i) if isinstance(i, ast.PresetUse) else scenario_data(i) for i in items]
    body = yaml.dump_all(
        documents,
        Dumper=Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=WIDTH,
        indent=INDENT,
        explicit_start=len(documents) > 1,
    )
    return (SCHEMA_COMMENT.format(schema=schema_ref) if schema_ref else "") + body


def literal_data(literal: ast.Literal) -> Any:
    if literal.type in ("money", "duration", "time"):
        return str(literal.value)
    if literal.type == "decimal":
        return float(str(literal.value))
    return literal.value


def preset_use_data(use: ast.PresetUse) -> dict[str, Any]:
    data: dict[str, Any] = {"scenario": use.id}
    if use.title != use.id:
        data["title"] = use.title
    data["use"] = use.preset
    if use.args:
        data["with"] = {a.name: literal_data(a.value) for a in use.args}
    return data


def scenario_data(s: ast.Scenario) -> dict[str, Any]:
    data: dict[str, Any] = {"scenario": s.id}
    if s.title != s.id:
        data["title"] = s.title
    data["kind"] = s.kind
    if s.owner is not None:
        data["owner"] = s.owner
    if s.description is not None:
        data["description"] = s.description
    if s.hypothesis is not None:
        data["hypothesis"] = {"kpi": s.hypothesis.kpi, "statement": s.hypothesis.statement}
        if s.hypothesis.target is not None:
            data["hypothesis"]["target"] = spell_target(s.hypothesis.target.amount, s.hypothesis.target.within)
    data["trigger"] = trigger_data(s.trigger)
    if s.goals:
        data["goals"] = [goal_data(g) for g in s.goals]
    if s.exits:
        data["stop"] = [stop_data(e) for e in s.exits]
    if s.reentry.mode == "cooldown":
        data["reentry"] = {"cooldown": str(s.reentry.cooldown)}
    elif s.reentry.mode != "never":
        data["reentry"] = s.reentry.mode
    if s.holdout:
        data["holdout"] = f"{s.holdout}%"
    if s.backfill is not None:
        data["backfill"] = str(s.backfill)
    data["steps"] = steps_data(s.steps)
    return data


def _with_where(data: dict[str, Any], where: ast.Expr | None) -> dict[str, Any]:
    if where is not None:
        data["where"] = expr_text(where)
    return data


def trigger_data(t: ast.Trigger) -> dict[str, Any]:
    if isinstance(t, ast.EventTrigger):
        return _with_where({"event": t.event}, t.where)
    if isinstance(t, ast.SegmentTrigger):
        return _with_where({"segment": t.segment}, t.where)
    if isinstance(t, ast.DateTrigger):
        data: dict[str, Any] = {"date": t.attribute}
        if t.offset.seconds:
            data["offset"] = str(t.offset)
        if t.at is not None:
            data["at"] = str(t.at)
        if t.yearly:
            data["yearly"] = True
        return _with_where(data, t.where)
    return _with_where({"schedule": t.cron, "audience": t.audience}, t.where)


def goal_data(g: ast.Goal) -> dict[str, Any]:
    data: dict[str, Any] = {"event": g.event}
    if g.match.startswith("same:"):
        data["same"] = g.match.split(":", 1)[1]
    elif g.match != "any":
        data["match"] = g.match
    if g.within is not None:
        data["within"] = str(g.within)
    return _with_where(data, g.where)


def stop_data(e: ast.ExitRule) -> dict[str, Any]:
    if e.event is not None:
        data: dict[str, Any] = _with_where({"event": e.event}, e.condition)
        if e.same:
            data["same"] = e.same
        return data
    return {"when": expr_text(e.condition)}


# The schema's order, which ``ecrm fmt`` puts keys in: the amount before the anchor ("5d before next_shipment").
_TIMING_KEYS = ("day", "after", "before", "business_days", "from", "at", "until", "weekday", "business_day")


def timing_data(t: ast.Timing) -> str | dict[str, Any]:
    if t == ast.Timing("previous", t.offset) and t.offset.seconds >= 0:
        return str(t.offset)
    data: dict[str, Any] = {}
    if t.until_time is not None or t.until_weekday is not None:
        if t.until_weekday:
            data["weekday"] = t.until_weekday
        if t.until_time is not None:
            data["until"] = str(t.until_time)
    elif t.business_days is not None:
        data["business_days"] = t.business_days
        data["from"] = t.anchor
    else:
        seconds = t.offset.seconds
        if t.anchor == "entry" and seconds >= 0 and seconds % 86400 == 0:
            data["day"] = seconds // 86400
        else:
            if t.anchor != "previous":
                data["from"] = t.anchor
            if seconds < 0:
                data["before"] = str(ast.Duration(-seconds))
            elif seconds or t.anchor == "previous":
                data["after"] = str(t.offset)
    if t.at is not None:
        data["at"] = str(t.at)
    if t.business_day:
        data["business_day"] = True
    return {key: data[key] for key in _TIMING_KEYS if key in data}


def steps_data(steps: tuple[ast.Step, ...]) -> list[dict[str, Any]]:
    return [step_data(s) for s in steps]


def step_data(step: ast.Step) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if step_id(None, step.action) != step.id:
        data["id"] = step.id
    action = step.action
    if isinstance(action, ast.Wait) and action.event is None:
        data["wait"] = timing_data(step.delay or ast.Timing())
        return data
    if step.delay is not None:
        data["delay"] = timing_data(step.delay)
    if step.guard is not None:
        data["if"] = expr_text(step.guard)
    if isinstance(action, ast.Send):
        send: dict[str, Any] = {"channel": action.channel, "template": action.template}
        if action.fallback:
            send["fallback"] = list(action.fallback)
        if action.params:
            send["params"] = {p.name: literal_data(p.value) for p in action.params}
        data["send"] = send
    elif isinstance(action, ast.Update):
        update: dict[str, Any] = {}
        if action.assignments:
            update["set"] = {a.attribute: literal_data(a.value) for a in action.assignments}
        if action.add_tags:
            update["tag"] = list(action.add_tags)
        if action.remove_tags:
            update["untag"] = list(action.remove_tags)
        data["update"] = update
    elif isinstance(action, ast.Exit):
        data["exit"] = {"reason": action.reason} if action.reason is not None else {}
    elif isinstance(action, ast.Wait):
        wait: dict[str, Any] = {"event": action.event}
        if action.same:
            wait["same"] = action.same
        _with_where(wait, action.where)
        if action.timeout is not None:
            wait["timeout"] = str(action.timeout)
        if action.on_event:
            wait["on_event"] = steps_data(action.on_event)
        if action.on_timeout:
            wait["on_timeout"] = steps_data(action.on_timeout)
        data["wait"] = wait
    elif isinstance(action, ast.Branch):
        data["branch"] = [
            {"else": steps_data(arm.steps)}
            if arm.condition is None
            else {"if": expr_text(arm.condition), "steps": steps_data(arm.steps)}
            for arm in action.arms
        ]
    else:
        assert isinstance(action, ast.Split)
        data["split"] = [{"variant": v.name, "weight": v.weight, "steps": steps_data(v.steps)} for v in action.variants]
    return data
