"""Good CRM practice: every scenario states a hypothesis, sell scenarios measure a goal, and segment-entry
triggers are not used where the planner meant "on every purchase"."""

from __future__ import annotations

from ecrm_dsl.language import ast
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.values import Duration
from ecrm_dsl.project.resources import Segment

# "Bought within the last week" reads as "on every purchase", which a segment entry (once) does not do.
_RECENT_DAYS = 7


def check_practice(scenario: ast.Scenario, segments: dict[str, Segment]) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    if scenario.hypothesis is None:
        findings.append(
            Diagnostic(
                "W506",
                tr("scenario '{scenario}' states no hypothesis", scenario=scenario.id),
                scenario.span,
                hint=tr(
                    "add 'hypothesis f2_rate \"…\"' (YAML: hypothesis: {{kpi: f2_rate, statement: …}}) "
                    "for the PDCA journal"
                ),
            )
        )
    if scenario.kind == "sell" and not scenario.goals:
        findings.append(
            Diagnostic(
                "W507",
                tr(
                    "sell scenario '{scenario}' has no goal, so its conversions cannot be measured",
                    scenario=scenario.id,
                ),
                scenario.span,
                hint=tr("add e.g. 'goal order.placed repeat within 30d'"),
            )
        )
    trigger = scenario.trigger
    if isinstance(trigger, ast.SegmentTrigger) and trigger.segment in segments:
        segment = segments[trigger.segment]
        if any(_means_recent_purchase(e) for e in ast.walk_exprs(segment.condition)):
            findings.append(
                Diagnostic(
                    "W505",
                    tr(
                        "segment '{segment}' means \"bought recently\", but a segment-entry trigger fires only when a "
                        "customer first starts matching, not on every purchase",
                        segment=segment.name,
                    ),
                    trigger.span,
                    hint=tr("to act on each purchase, write 'when order.placed where …'"),
                )
            )
    return findings


def _means_recent_purchase(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Compare) and isinstance(expr.right, ast.Literal) and expr.right.type == "int":
        bound = expr.right.value
        assert isinstance(bound, int)
        if _is_days_since_order(expr.left) and expr.op in ("<", "<=", "==") and bound <= _RECENT_DAYS:
            return True
        if _is_recent_order_count(expr.left) and ((expr.op == ">=" and bound >= 1) or (expr.op == ">" and bound >= 0)):
            return True
    if isinstance(expr, ast.Between) and _is_days_since_order(expr.operand) and not expr.negated:
        high = expr.high
        return isinstance(high, ast.Literal) and isinstance(high.value, int) and high.value <= _RECENT_DAYS
    return False


def _is_days_since_order(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.Ref):
        return expr.path == ("customer", "days_since_last_order")
    if isinstance(expr, ast.Call) and expr.name == "days_since" and expr.args:
        arg = expr.args[0]
        return isinstance(arg, ast.Ref) and arg.path == ("customer", "last_order_at")
    return False


def _is_recent_order_count(expr: ast.Expr) -> bool:
    if not (isinstance(expr, ast.Call) and expr.name == "count" and len(expr.args) == 2):
        return False
    event, window = expr.args
    return (
        isinstance(event, ast.Ref)
        and event.dotted == "order.placed"
        and isinstance(window, ast.Literal)
        and isinstance(window.value, Duration)
        and window.value.seconds <= _RECENT_DAYS * 86400
    )
