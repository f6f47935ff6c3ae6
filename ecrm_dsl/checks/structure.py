"""The shape of a scenario's flow: ids, reachability, time running forward, waits that end, sound splits."""

from __future__ import annotations

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.visit import StructureVisitor
from ecrm_dsl.syntax.text_printer import expr_text


def check_structure(scenario: ast.Scenario) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    _duplicate_ids(scenario, findings)
    _flow(scenario.steps, findings, entry_offset=0)
    _Shapes(findings).visit(scenario)
    if scenario.holdout > 50:
        findings.append(
            Diagnostic(
                "E508",
                tr("a holdout of {percent}% leaves most customers unmessaged", percent=scenario.holdout),
                scenario.span,
                hint=tr("control groups are usually 5–20%; at most 50%"),
            )
        )
    return findings


class _Shapes(StructureVisitor):
    """Waits that end, sound splits and branches, valid schedules."""

    def __init__(self, findings: list[Diagnostic]):
        self.findings = findings

    def visit_Step(self, step: ast.Step) -> None:
        action = step.action
        if isinstance(action, ast.Wait) and action.event is not None and action.timeout is None:
            self.findings.append(
                Diagnostic(
                    "E405",
                    tr(
                        "wait '{step}' for {event} has no timeout: customers who never do it wait forever",
                        step=step.id,
                        event=action.event,
                    ),
                    action.span,
                    hint=tr("add 'timeout 3d' (YAML: timeout: 3d) and an 'on timeout' path"),
                )
            )
        elif isinstance(action, ast.Split):
            _split(step, action, self.findings)
        self.generic_visit(step)

    def visit_Branch(self, branch: ast.Branch) -> None:
        _branch(branch, self.findings)
        self.generic_visit(branch)

    def visit_ScheduleTrigger(self, trigger: ast.ScheduleTrigger) -> None:
        _cron(trigger, self.findings)


def _duplicate_ids(scenario: ast.Scenario, findings: list[Diagnostic]) -> None:
    seen: dict[str, ast.Step] = {}
    for step in ast.walk_steps(scenario.steps):
        first = seen.get(step.id)
        if first is None:
            seen[step.id] = step
            continue
        fields = {"step": step.id, "scenario": scenario.id, "line": first.span.line}
        message = (
            tr("step id '{step}' is used twice in scenario {scenario}; first at line {line}", **fields)
            if step.id_explicit
            else tr(
                "step id '{step}' is used twice in scenario {scenario} (a send step's id defaults to its template "
                "name); first at line {line}",
                **fields,
            )
        )
        findings.append(
            Diagnostic(
                "E401",
                message,
                step.span,
                hint=tr("give one of them its own id: '@name' (YAML: id: name)"),
            )
        )


def _ends(steps: tuple[ast.Step, ...]) -> bool:
    """Whether every path through ``steps`` ends the enrollment (so nothing after them can run)."""
    return any(_step_ends(step) for step in steps)


def _step_ends(step: ast.Step) -> bool:
    if step.guard is not None:
        return False  # a guarded step may be skipped
    action = step.action
    if isinstance(action, ast.Exit):
        return True
    if isinstance(action, ast.Branch):
        has_else = any(arm.condition is None for arm in action.arms)
        return has_else and all(_ends(arm.steps) for arm in action.arms)
    if isinstance(action, ast.Split):
        return all(_ends(v.steps) for v in action.variants)
    if isinstance(action, ast.Wait) and action.event is not None and action.timeout is not None:
        return _ends(action.on_event) and _ends(action.on_timeout)
    return False


def _flow(steps: tuple[ast.Step, ...], findings: list[Diagnostic], entry_offset: int | None) -> int | None:
    """Walk a step list in order; report unreachable steps and time going backwards.

    ``entry_offset`` is how long after entry the previous step acted, when known; returns it after the list.
    """
    ended_by: ast.Step | None = None
    for step in steps:
        if ended_by is not None:
            findings.append(
                Diagnostic(
                    "W403",
                    tr(
                        "step '{step}' can never run: every path ends at '{ended_at}' before it",
                        step=step.id,
                        ended_at=ended_by.id,
                    ),
                    step.span,
                    hint=tr("move it before the exit, or remove it"),
                )
            )
            break
        entry_offset = _timing(step, findings, entry_offset)
        for nested in ast.child_step_lists(step.action):
            _flow(nested, findings, entry_offset)
        if _step_ends(step):
            ended_by = step
    return entry_offset


def _timing(step: ast.Step, findings: list[Diagnostic], entry_offset: int | None) -> int | None:
    timing = step.delay
    if timing is None:
        return entry_offset
    seconds = timing.offset.seconds
    if timing.anchor in ("previous", "entry") and (seconds < 0 or (timing.business_days or 0) < 0):
        findings.append(
            Diagnostic(
                "E404",
                _negative_wait(step.id, timing),
                timing.span,
                hint=tr("waits only go forward; count back only from a future date such as delivery_date"),
            )
        )
        return entry_offset
    if timing.anchor == "entry" and timing.business_days is None:
        if entry_offset is not None and seconds < entry_offset:
            findings.append(
                Diagnostic(
                    "E404",
                    tr(
                        "step '{step}' is timed {timed} after entry, but comes after a step at {earlier}: it would "
                        "go back in time and fire at once",
                        step=step.id,
                        timed=_days(seconds),
                        earlier=_days(entry_offset),
                    ),
                    timing.span,
                    hint=tr("reorder the steps so the days increase"),
                )
            )
        return max(seconds, entry_offset or 0)
    if (
        timing.anchor == "previous"
        and entry_offset is not None
        and timing.business_days is None
        and timing.until_time is None
        and timing.until_weekday is None
    ):
        return entry_offset + seconds
    return None


def _negative_wait(step: str, timing: ast.Timing) -> str:
    """E404's sentence for a wait back in time: by a duration or by business days, from the previous step or
    from entry (four whole sentences, so each language can order its words)."""
    if timing.offset.seconds < 0:
        if timing.anchor == "previous":
            return tr(
                "step '{step}' waits a negative time ({duration}) from the previous step",
                step=step,
                duration=timing.offset,
            )
        return tr("step '{step}' waits a negative time ({duration}) from entry", step=step, duration=timing.offset)
    if timing.anchor == "previous":
        return tr(
            "step '{step}' waits a negative time ({days} business days) from the previous step",
            step=step,
            days=timing.business_days,
        )
    return tr(
        "step '{step}' waits a negative time ({days} business days) from entry", step=step, days=timing.business_days
    )


def _days(seconds: int) -> str:
    return tr("day {number}", number=seconds // 86400) if seconds % 86400 == 0 else str(ast.Duration(seconds))


def _split(step: ast.Step, split: ast.Split, findings: list[Diagnostic]) -> None:
    names = [v.name for v in split.variants]
    if len(split.variants) < 2:
        findings.append(
            Diagnostic(
                "E408",
                tr("split '{step}' has one variant; a test needs two or more", step=step.id),
                split.span,
                hint=tr("add a variant, or remove the split"),
            )
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        findings.append(
            Diagnostic(
                "E408",
                tr("split '{step}' names variant '{variant}' twice", step=step.id, variant=duplicates[0]),
                split.span,
            )
        )
    for variant in split.variants:
        if variant.weight <= 0:
            findings.append(
                Diagnostic(
                    "E408",
                    tr("variant '{variant}' has weight {weight}", variant=variant.name, weight=variant.weight),
                    variant.span,
                    hint=tr("weights are positive whole numbers, e.g. 50 and 50"),
                )
            )


def _branch(branch: ast.Branch, findings: list[Diagnostic]) -> None:
    elses = [i for i, arm in enumerate(branch.arms) if arm.condition is None]
    if elses and (len(elses) > 1 or elses[0] != len(branch.arms) - 1):
        findings.append(
            Diagnostic(
                "E412",
                tr("'else' must be the last arm of a branch, and there is only one"),
                branch.arms[elses[0]].span,
            )
        )
    seen: dict[str, ast.BranchArm] = {}
    for arm in branch.arms:
        if arm.condition is None:
            continue
        key = expr_text(arm.condition)
        if key in seen:
            findings.append(
                Diagnostic(
                    "W403",
                    tr(
                        "this arm repeats the condition of the arm at line {line}, so it never runs",
                        line=seen[key].span.line,
                    ),
                    arm.span,
                    hint=tr("change its condition or merge the two arms"),
                )
            )
        seen.setdefault(key, arm)


def _cron(trigger: ast.ScheduleTrigger, findings: list[Diagnostic]) -> None:
    from croniter import croniter  # only projects with a schedule trigger pay for importing it

    fields = trigger.cron.split()
    if len(fields) != 5 or not croniter.is_valid(trigger.cron):
        findings.append(
            Diagnostic(
                "E410",
                tr("'{cron}' is not a valid cron schedule", cron=trigger.cron),
                trigger.span,
                hint=tr('five fields: minute hour day-of-month month weekday, e.g. "0 10 1 * *" for 10:00 on the 1st'),
            )
        )
