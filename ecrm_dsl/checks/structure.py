"""The shape of a scenario's flow: ids, reachability, time running forward, waits that end, sound splits."""

from __future__ import annotations

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
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
                f"a holdout of {scenario.holdout}% leaves most customers unmessaged",
                scenario.span,
                hint="control groups are usually 5–20%; at most 50%",
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
                    f"wait '{step.id}' for {action.event} has no timeout: customers who never do it wait forever",
                    action.span,
                    hint="add 'timeout 3d' (YAML: timeout: 3d) and an 'on timeout' path",
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
        derived = "" if step.id_explicit else " (a send step's id defaults to its template name)"
        findings.append(
            Diagnostic(
                "E401",
                f"step id '{step.id}' is used twice in scenario {scenario.id}{derived}; "
                f"first at line {first.span.line}",
                step.span,
                hint="give one of them its own id: '@name' (YAML: id: name)",
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
                    f"step '{step.id}' can never run: every path ends at '{ended_by.id}' before it",
                    step.span,
                    hint="move it before the exit, or remove it",
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
                f"step '{step.id}' waits a negative time "
                f"({timing.offset if seconds < 0 else f'{timing.business_days} business days'}) "
                f"from {'the previous step' if timing.anchor == 'previous' else 'entry'}",
                timing.span,
                hint="waits only go forward; count back only from a future date such as delivery_date",
            )
        )
        return entry_offset
    if timing.anchor == "entry" and timing.business_days is None:
        if entry_offset is not None and seconds < entry_offset:
            findings.append(
                Diagnostic(
                    "E404",
                    f"step '{step.id}' is timed {_days(seconds)} after entry, but comes after a step at "
                    f"{_days(entry_offset)}: it would go back in time and fire at once",
                    timing.span,
                    hint="reorder the steps so the days increase",
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


def _days(seconds: int) -> str:
    return f"day {seconds // 86400}" if seconds % 86400 == 0 else str(ast.Duration(seconds))


def _split(step: ast.Step, split: ast.Split, findings: list[Diagnostic]) -> None:
    names = [v.name for v in split.variants]
    if len(split.variants) < 2:
        findings.append(
            Diagnostic(
                "E408",
                f"split '{step.id}' has one variant; a test needs two or more",
                split.span,
                hint="add a variant, or remove the split",
            )
        )
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        findings.append(Diagnostic("E408", f"split '{step.id}' names variant '{duplicates[0]}' twice", split.span))
    for variant in split.variants:
        if variant.weight <= 0:
            findings.append(
                Diagnostic(
                    "E408",
                    f"variant '{variant.name}' has weight {variant.weight}",
                    variant.span,
                    hint="weights are positive whole numbers, e.g. 50 and 50",
                )
            )


def _branch(branch: ast.Branch, findings: list[Diagnostic]) -> None:
    elses = [i for i, arm in enumerate(branch.arms) if arm.condition is None]
    if elses and (len(elses) > 1 or elses[0] != len(branch.arms) - 1):
        findings.append(
            Diagnostic(
                "E412", "'else' must be the last arm of a branch, and there is only one", branch.arms[elses[0]].span
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
                    f"this arm repeats the condition of the arm at line {seen[key].span.line}, so it never runs",
                    arm.span,
                    hint="change its condition or merge the two arms",
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
                f"'{trigger.cron}' is not a valid cron schedule",
                trigger.span,
                hint='five fields: minute hour day-of-month month weekday, e.g. "0 10 1 * *" for 10:00 on the 1st',
            )
        )
