"""The YAML front end: schema-checked documents become the same AST the text syntax builds."""

from __future__ import annotations

import re
from typing import Any

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.targets import parse_target
from ecrm_dsl.language.values import MAX_DURATION_DAYS, Duration, TimeOfDay, ValueError_, parse_percent, whole_number
from ecrm_dsl.syntax.common import check_step_nesting, make_step, normalise_decimal, parse_typed_literal
from ecrm_dsl.syntax.text import parse_condition
from ecrm_dsl.syntax.yaml_schema import validate_document
from ecrm_dsl.syntax.yaml_source import Path_, YamlDocument, load_yaml

_MONEY_SHAPE = re.compile(r"^(?:¥\s?\d+(?:,\d{3})*|\d+(?:,\d{3})*(?:円|JPY))$")


def parse_yaml_scenarios(text: str, file: str) -> tuple[list[ast.SourceItem], list[Diagnostic]]:
    """Every scenario document (or preset use) in a YAML file, with shape and construction findings."""
    scenarios: list[ast.SourceItem] = []
    findings: list[Diagnostic] = []
    for doc in load_yaml(text, file):
        shape = validate_document(doc, "scenario")
        findings.extend(shape)
        if shape:
            continue
        builder = ScenarioBuilder(doc)
        scenarios.append(builder.preset_use() if "use" in doc.data else builder.scenario())
        findings.extend(builder.diagnostics)
    return scenarios, findings


def yaml_literal(value: Any, span: ast.Span, diagnostics: list[Diagnostic]) -> ast.Literal:
    """A YAML scalar as a typed literal; text shaped like ¥3,000 or 3000円 is money."""
    if value is None:
        return ast.Literal(None, "null", span)
    if isinstance(value, bool):
        return ast.Literal(value, "bool", span)
    if isinstance(value, int):
        return ast.Literal(value, "int", span)
    if isinstance(value, float):
        return ast.Literal(normalise_decimal(repr(value)), "decimal", span)
    if isinstance(value, str) and _MONEY_SHAPE.match(value):
        return parse_typed_literal("money", value, span, diagnostics)
    return ast.Literal(str(value), "string", span)


def condition_at(doc: YamlDocument, path: Path_, findings: list[Diagnostic]) -> ast.Expr:
    """Parse the condition string at ``path``, positioned in the YAML file; a broken one reports and yields false."""
    text = doc.data_at(path)
    locator = doc.string_locator(path)
    line_starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def locate(line: int, column: int) -> tuple[int, int]:
        return locator(line_starts[min(line, len(line_starts)) - 1] + column - 1)

    try:
        expr, found = parse_condition(text, doc.file, locate=locate)
    except DiagnosticError as exc:
        findings.extend(exc.diagnostics)
        return ast.Literal(False, "bool", doc.span(path))
    findings.extend(found)
    return expr


class ScenarioBuilder:
    """Builds one :class:`ast.Scenario` from a schema-valid YAML document."""

    def __init__(self, doc: YamlDocument):
        self.doc = doc
        self.diagnostics: list[Diagnostic] = []

    def span(self, path: Path_) -> ast.Span:
        return self.doc.span(path)

    # ---- values
    def duration(self, raw: str, path: Path_) -> Duration:
        try:
            return Duration.parse(raw)
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self.span(path), hint=exc.hint))
            return Duration(0)

    def days(self, raw: int, path: Path_) -> int:
        """A count of days, at most as long as the longest duration."""
        try:
            return whole_number(str(raw), maximum=MAX_DURATION_DAYS)
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self.span(path), hint=exc.hint))
            return 0

    def time(self, raw: str | None, path: Path_) -> TimeOfDay | None:
        if raw is None:
            return None
        try:
            return TimeOfDay.parse(raw)
        except ValueError_ as exc:
            self.diagnostics.append(Diagnostic("E006", str(exc), self.span(path), hint=exc.hint))
            return None

    def condition(self, raw: str | None, path: Path_) -> ast.Expr | None:
        return condition_at(self.doc, path, self.diagnostics) if raw is not None else None

    # ---- scenario
    def preset_use(self) -> ast.PresetUse:
        data = self.doc.data
        args = tuple(
            ast.Param(
                name,
                yaml_literal(value, self.span(("with", name)), self.diagnostics),
                self.doc.key_span(("with", name)),
            )
            for name, value in (data.get("with") or {}).items()
        )
        return ast.PresetUse(data["scenario"], data.get("title", data["scenario"]), data["use"], args, self.span(()))

    def scenario(self) -> ast.Scenario:
        data = self.doc.data
        reentry = data.get("reentry", "never")
        if isinstance(reentry, dict):
            reentry_node = ast.Reentry(
                "cooldown", self.duration(reentry["cooldown"], ("reentry", "cooldown")), self.span(("reentry",))
            )
        else:
            reentry_node = ast.Reentry(reentry, None, self.span(("reentry",)))
        hypothesis = data.get("hypothesis")
        steps = self.steps(data["steps"], ("steps",))
        check_step_nesting(steps, self.diagnostics)
        holdout = 0
        if "holdout" in data:
            try:
                holdout = parse_percent(str(data["holdout"]))
            except ValueError_ as exc:
                self.diagnostics.append(Diagnostic("E006", str(exc), self.span(("holdout",)), hint=exc.hint))
        return ast.Scenario(
            id=data["scenario"],
            title=data.get("title", data["scenario"]),
            kind=data["kind"],
            trigger=self.trigger(data["trigger"], ("trigger",)),
            steps=steps,
            owner=data.get("owner"),
            description=data.get("description"),
            hypothesis=self.hypothesis(hypothesis) if hypothesis else None,
            goals=tuple(self.goal(g, ("goals", i)) for i, g in enumerate(data.get("goals", []))),
            exits=tuple(self.stop(s, ("stop", i)) for i, s in enumerate(data.get("stop", []))),
            reentry=reentry_node,
            holdout=holdout,
            backfill=self.duration(data["backfill"], ("backfill",)) if "backfill" in data else None,
            span=self.span(()),
        )

    def hypothesis(self, data: dict[str, Any]) -> ast.Hypothesis:
        target = None
        if "target" in data:
            span = self.span(("hypothesis", "target"))
            try:
                amount, within = parse_target(str(data["target"]))
                target = ast.HypothesisTarget(amount, within, span)
            except ValueError_ as exc:
                self.diagnostics.append(Diagnostic("E006", str(exc), span, hint=exc.hint))
        return ast.Hypothesis(data["kpi"], data["statement"], self.span(("hypothesis",)), target)

    def trigger(self, data: dict[str, Any], path: Path_) -> ast.Trigger:
        where = self.condition(data.get("where"), (*path, "where"))
        span = self.span(path)
        if "event" in data:
            return ast.EventTrigger(data["event"], where, span)
        if "segment" in data:
            return ast.SegmentTrigger(data["segment"], where, span)
        if "date" in data:
            offset = self.duration(data["offset"], (*path, "offset")) if "offset" in data else Duration(0)
            return ast.DateTrigger(
                data["date"],
                offset,
                self.time(data.get("at"), (*path, "at")),
                bool(data.get("yearly", False)),
                where,
                span,
            )
        return ast.ScheduleTrigger(data["schedule"], data["audience"], where, span)

    def goal(self, data: dict[str, Any], path: Path_) -> ast.Goal:
        match = f"same:{data['same']}" if "same" in data else data.get("match", "any")
        within = self.duration(data["within"], (*path, "within")) if "within" in data else None
        return ast.Goal(
            data["event"], match, within, self.condition(data.get("where"), (*path, "where")), self.span(path)
        )

    def stop(self, data: dict[str, Any], path: Path_) -> ast.ExitRule:
        if "when" in data:
            return ast.ExitRule(None, self.condition(data["when"], (*path, "when")), span=self.span(path))
        where = self.condition(data.get("where"), (*path, "where"))
        return ast.ExitRule(data["event"], where, data.get("same"), self.span(path))

    # ---- steps
    def steps(self, items: list[dict[str, Any]], path: Path_) -> tuple[ast.Step, ...]:
        return tuple(self.step(item, (*path, i)) for i, item in enumerate(items))

    def step(self, data: dict[str, Any], path: Path_) -> ast.Step:
        span = self.span(path)
        actions = [k for k in ("send", "update", "exit", "wait", "branch", "split") if k in data]
        if len(actions) > 1:
            self.diagnostics.append(
                Diagnostic(
                    "E100",
                    tr(
                        "a step has one action, this one has {count}: {actions}",
                        count=len(actions),
                        actions=", ".join(actions),
                    ),
                    self.doc.key_span((*path, actions[1])),
                    hint=tr("split it into several steps, each with its own id"),
                )
            )
        kind = actions[0]
        delay = self.timing(data["delay"], (*path, "delay")) if "delay" in data else None
        guard = self.condition(data.get("if"), (*path, "if"))
        action: ast.Action
        if kind == "wait":
            wait = data["wait"]
            if isinstance(wait, dict) and "event" in wait:
                action = self.wait_for(wait, (*path, "wait"))
            else:
                if delay is not None:
                    self.diagnostics.append(
                        Diagnostic(
                            "E100",
                            tr("a wait step takes its timing in 'wait', not in 'delay'"),
                            self.doc.key_span((*path, "delay")),
                            hint=tr("merge the two into 'wait'"),
                        )
                    )
                if guard is not None:
                    self.diagnostics.append(
                        Diagnostic(
                            "E100",
                            tr("a wait step cannot have 'if'"),
                            self.doc.key_span((*path, "if")),
                            hint=tr("put the condition on the step after the wait, or use a branch"),
                        )
                    )
                delay = self.timing(wait, (*path, "wait"))
                action = ast.Wait(span=self.span((*path, "wait")))
        else:
            action = getattr(self, f"action_{kind}")(data[kind], (*path, kind))
        return make_step(data.get("id"), action, delay, guard, span, self.diagnostics)

    def timing(self, data: str | dict[str, Any], path: Path_) -> ast.Timing:
        span = self.span(path)
        if isinstance(data, str):
            return ast.Timing("previous", self.duration(data, path), span=span)
        anchor = data.get("from")
        offset = Duration(0)
        if "day" in data:
            if anchor not in (None, "entry") or "after" in data or "before" in data:
                self._timing_conflict(
                    path, tr("'day' counts from entry; it cannot be combined with after, before or from")
                )
            anchor, offset = "entry", Duration(self.days(data["day"], (*path, "day")) * 86400)
        if "after" in data and "before" in data:
            self._timing_conflict(path, tr("use either 'after' or 'before'"))
        if "after" in data:
            offset = self.duration(data["after"], (*path, "after"))
        if "before" in data:
            if anchor in (None, "previous"):
                self._timing_conflict(path, tr("'before' needs an anchor in 'from', e.g. from: delivery_date"))
            offset = Duration(-self.duration(data["before"], (*path, "before")).seconds)
        if "until" in data or "weekday" in data:
            if set(data) & {"day", "after", "before", "business_days", "at"} or anchor not in (None, "previous"):
                self._timing_conflict(
                    path, tr("'until'/'weekday' waits from the previous step; write it as a step of its own")
                )
        if "business_days" in data and set(data) & {"day", "after", "before", "business_day"}:
            self._timing_conflict(path, tr("count either business days or calendar time, not both"))
        weekday = data.get("weekday")
        until = self.time(data.get("until"), (*path, "until"))
        if weekday and until is None:
            until = TimeOfDay(0, 0)
        return ast.Timing(
            anchor=anchor or "previous",
            offset=offset,
            business_days=self.days(data["business_days"], (*path, "business_days"))
            if "business_days" in data
            else None,
            at=self.time(data.get("at"), (*path, "at")),
            until_time=until,
            until_weekday=weekday,
            business_day=bool(data.get("business_day", False)),
            span=span,
        )

    def _timing_conflict(self, path: Path_, message: str) -> None:
        self.diagnostics.append(Diagnostic("E100", tr("timing: {problem}", problem=message), self.span(path)))

    def wait_for(self, data: dict[str, Any], path: Path_) -> ast.Wait:
        timeout = self.duration(data["timeout"], (*path, "timeout")) if "timeout" in data else None
        return ast.Wait(
            data["event"],
            self.condition(data.get("where"), (*path, "where")),
            timeout,
            self.steps(data.get("on_event", []), (*path, "on_event")),
            self.steps(data.get("on_timeout", []), (*path, "on_timeout")),
            data.get("same"),
            self.span(path),
        )

    def action_send(self, data: dict[str, Any], path: Path_) -> ast.Send:
        params = tuple(
            ast.Param(
                name,
                yaml_literal(value, self.span((*path, "params", name)), self.diagnostics),
                self.doc.key_span((*path, "params", name)),
            )
            for name, value in data.get("params", {}).items()
        )
        return ast.Send(data["channel"], data["template"], tuple(data.get("fallback", [])), params, self.span(path))

    def action_update(self, data: dict[str, Any], path: Path_) -> ast.Update:
        assignments = tuple(
            ast.Assignment(
                attr,
                yaml_literal(value, self.span((*path, "set", attr)), self.diagnostics),
                self.doc.key_span((*path, "set", attr)),
            )
            for attr, value in data.get("set", {}).items()
        )
        return ast.Update(assignments, tuple(data.get("tag", [])), tuple(data.get("untag", [])), self.span(path))

    def action_exit(self, data: dict[str, Any], path: Path_) -> ast.Exit:
        return ast.Exit(data.get("reason"), self.span(path))

    def action_branch(self, arms: list[dict[str, Any]], path: Path_) -> ast.Branch:
        built = []
        for i, arm in enumerate(arms):
            arm_path = (*path, i)
            if "else" in arm:
                built.append(ast.BranchArm(None, self.steps(arm["else"], (*arm_path, "else")), self.span(arm_path)))
            else:
                built.append(
                    ast.BranchArm(
                        self.condition(arm["if"], (*arm_path, "if")),
                        self.steps(arm["steps"], (*arm_path, "steps")),
                        self.span(arm_path),
                    )
                )
        return ast.Branch(tuple(built), self.span(path))

    def action_split(self, variants: list[dict[str, Any]], path: Path_) -> ast.Split:
        return ast.Split(
            tuple(
                ast.Variant(
                    v["variant"], v["weight"], self.steps(v["steps"], (*path, i, "steps")), self.span((*path, i))
                )
                for i, v in enumerate(variants)
            ),
            self.span(path),
        )
