"""Consent and message hygiene: consent rules per channel, unsubscribe links, placeholders, reachable customers.

The reachability check (E504) follows each path through the steps, collecting what the conditions on the way
establish about consent ("customer.line_opt_in == false") and contact points ("customer.email is null"). A send
whose channel and every fallback are ruled out on some path can never be delivered there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ecrm_dsl.checks.scope import entry_event
from ecrm_dsl.language import ast, catalog
from ecrm_dsl.language.diagnostics import Diagnostic
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.placeholders import PRODUCT_FIELDS
from ecrm_dsl.project.resources import Template
from ecrm_dsl.project.workspace import Workspace

_TRANSACTION_EVENTS = ("order.", "subscription.", "cart.")
COUPON_FIELDS = ("code", "expires_on")  # what a drawn coupon shows: {{ coupon.code }}, {{ coupon.expires_on }}


def check_templates(ws: Workspace) -> list[Diagnostic]:
    """Findings about template files themselves (not about how scenarios use them)."""
    findings: list[Diagnostic] = []
    for template in ws.templates.values():
        if template.marketing and "email" in template.channels and not template.uses("unsubscribe_url", "email"):
            findings.append(
                Diagnostic(
                    "E502",
                    tr("marketing email template '{template}' has no unsubscribe link", template=template.name),
                    template.span,
                    hint=tr("add {{ unsubscribe_url }} to the email body (Gmail bulk-sender rules, 特定電子メール法)"),
                )
            )
        for placeholder in template.placeholders:
            problem = _placeholder_problem(ws, template, placeholder.name)
            if problem:
                findings.append(
                    Diagnostic(
                        "E503",
                        problem,
                        placeholder.span,
                        hint=tr(
                            "placeholders: customer.<attribute>, event.<property>, a declared param, coupon.code and "
                            "coupon.expires_on (with coupon: {{pool: NAME}}), shop.name, shop.url, shop.support_email, "
                            "unsubscribe_url, order.items, last_purchase.<field>, recommendation.<field>"
                        ),
                    )
                )
    return findings


def _placeholder_problem(ws: Workspace, template: Template, name: str) -> str | None:
    if name in catalog.PLACEHOLDER_BUILTINS or name in template.params:
        return None
    scope, _, rest = name.partition(".")
    shown = _shown(name)
    if scope == "customer" and rest:
        if rest in ws.schema.attributes:
            return None
        return tr(
            "placeholder {placeholder}: unknown attribute customer.{attribute}", placeholder=shown, attribute=rest
        )
    if scope == "event" and rest:
        return None  # checked where the template is sent, against the entry event
    if scope == "coupon" and rest in COUPON_FIELDS:
        if template.coupon is None:
            return tr(
                "placeholder {placeholder}: '{template}' draws no coupon; add coupon: {{pool: NAME}}",
                placeholder=shown,
                template=template.name,
            )
        return None
    if scope in PRODUCT_FIELDS:
        fields = PRODUCT_FIELDS[scope]
        if rest in fields:
            return None
        return tr(
            "placeholder {placeholder}: {scope} has no field '{field}' ({known})",
            placeholder=shown,
            scope=scope,
            field=rest,
            known=", ".join(fields),
        )
    return tr(
        "placeholder {placeholder} is neither a customer attribute nor a parameter of '{template}'",
        placeholder=shown,
        template=template.name,
    )


def _shown(name: str) -> str:
    """A placeholder as the template writes it: ``{{ customer.name }}``."""
    return "{{ " + name + " }}"


@dataclass
class _Facts:
    """What the conditions on a path establish: bool attributes known, contact points known to be missing."""

    flags: dict[str, bool] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)

    def copy(self) -> _Facts:
        return _Facts(dict(self.flags), set(self.missing))

    def learn(self, expr: ast.Expr | None, holds: bool = True) -> None:
        if expr is None:
            return
        if isinstance(expr, ast.And) and holds:
            for item in expr.items:
                self.learn(item)
            return
        if isinstance(expr, ast.Or) and not holds:
            for item in expr.items:
                self.learn(item, holds=False)
            return
        if isinstance(expr, ast.Not):
            self.learn(expr.operand, not holds)
            return
        attr = _customer_attr(expr)
        if attr is not None:
            self.flags[attr] = holds
            return
        if isinstance(expr, ast.Compare) and expr.op in ("==", "!="):
            attr = _customer_attr(expr.left)
            if attr is not None and isinstance(expr.right, ast.Literal) and expr.right.type == "bool":
                value = bool(expr.right.value) == (expr.op == "==")
                self.flags[attr] = value if holds else not value
            return
        if isinstance(expr, ast.IsNull) and holds != expr.negated:
            attr = _customer_attr(expr.operand)
            if attr is not None:
                self.missing.add(attr)


def _customer_attr(expr: ast.Expr) -> str | None:
    if isinstance(expr, ast.Ref) and len(expr.path) == 2 and expr.path[0] == "customer":
        return expr.path[1]
    return None


def check_consent(ws: Workspace, scenario: ast.Scenario) -> list[Diagnostic]:
    findings: list[Diagnostic] = []
    facts = _Facts()
    trigger = scenario.trigger
    audience = (
        trigger.segment
        if isinstance(trigger, ast.SegmentTrigger)
        else (trigger.audience if isinstance(trigger, ast.ScheduleTrigger) else None)
    )
    if audience in ws.segments:
        facts.learn(ws.segments[audience].condition)
    facts.learn(trigger.where)
    _walk(ws, scenario, scenario.steps, facts, findings)
    return findings


def _walk(
    ws: Workspace, scenario: ast.Scenario, steps: tuple[ast.Step, ...], facts: _Facts, findings: list[Diagnostic]
) -> None:
    for step in steps:
        here = facts.copy()
        here.learn(step.guard)
        action = step.action
        if isinstance(action, ast.Send):
            _send(ws, scenario, step, action, here, findings)
        elif isinstance(action, ast.Branch):
            rest = here.copy()
            for arm in action.arms:
                inside = rest.copy()
                inside.learn(arm.condition)
                _walk(ws, scenario, arm.steps, inside, findings)
                rest.learn(arm.condition, holds=False)
        for nested in ast.child_step_lists(action) if not isinstance(action, ast.Branch) else []:
            _walk(ws, scenario, nested, here.copy(), findings)


def _send(
    ws: Workspace, scenario: ast.Scenario, step: ast.Step, send: ast.Send, facts: _Facts, findings: list[Diagnostic]
) -> None:
    template = ws.templates.get(send.template)
    if template is None:
        return  # reported by the reference checks
    channels = (send.channel, *send.fallback)
    if template.marketing:
        for channel in channels:
            if channel in catalog.CHANNELS and channel not in ws.policies.consent:
                findings.append(
                    Diagnostic(
                        "E501",
                        tr(
                            "marketing send '{step}' uses {channel}, which has no consent rule in the policies",
                            step=step.id,
                            channel=channel,
                        ),
                        send.span,
                        hint=tr(
                            "add consent.{channel} to the policies, e.g. attribute: customer.{channel}_opt_in",
                            channel=channel,
                        ),
                    )
                )
    blocked = [c for c in channels if _ruled_out(ws, c, template.marketing, facts)]
    if blocked and len(blocked) == len(channels):
        why = "; ".join(dict.fromkeys(_ruled_out(ws, c, template.marketing, facts) or "" for c in channels))
        findings.append(
            Diagnostic(
                "E504",
                tr(
                    "send '{step}' is reached on a path where no channel can deliver it ({reasons})",
                    step=step.id,
                    reasons=why,
                ),
                send.span,
                hint=tr("add a fallback channel the customer can be reached on, or change the branch"),
            )
        )
    entry = entry_event(scenario)
    for placeholder in template.placeholders:
        scope, _, prop = placeholder.name.partition(".")
        if scope != "event" or placeholder.channel not in channels:
            continue
        properties = ws.schema.events.get(entry or "", {})
        if prop not in properties:
            findings.append(
                Diagnostic(
                    "E503",
                    _no_property(template.name, placeholder.name, entry, prop),
                    send.span,
                )
            )
    if "order_id" not in ws.schema.events.get(entry or "", {}):  # {{ order.* }} shows the entry order
        for placeholder in template.placeholders:
            if placeholder.name.startswith("order.") and placeholder.channel in channels:
                findings.append(
                    Diagnostic(
                        "E503",
                        _no_order(template.name, placeholder.name, entry),
                        send.span,
                        hint=tr(
                            "order.* shows the order that started the scenario; last_purchase.* and "
                            "recommendation.* work from any trigger"
                        ),
                    )
                )
    customer_facing = any(c != "webhook" for c in channels)  # a webhook notifies a system, not the customer
    if customer_facing and not template.marketing and not (entry or "").startswith(_TRANSACTION_EVENTS):
        findings.append(
            Diagnostic(
                "E510",
                tr(
                    "transactional template '{template}' is sent from a scenario that is not triggered by a "
                    "transaction, so it would skip consent and quiet hours",
                    template=template.name,
                ),
                send.span,
                hint=tr("make the template category marketing"),
            )
        )


def _no_property(template: str, placeholder: str, entry: str | None, prop: str) -> str:
    shown = _shown(placeholder)
    if not entry:
        return tr(
            "template '{template}' uses {placeholder}, but the entry event (none: this is not an event trigger) has "
            "no property '{property}'",
            template=template,
            placeholder=shown,
            property=prop,
        )
    return tr(
        "template '{template}' uses {placeholder}, but the entry event ({event}) has no property '{property}'",
        template=template,
        placeholder=shown,
        event=entry,
        property=prop,
    )


def _no_order(template: str, placeholder: str, entry: str | None) -> str:
    shown = _shown(placeholder)
    if not entry:
        return tr(
            "template '{template}' uses {placeholder}, but the entry event (none: this is not an event trigger) "
            "carries no order",
            template=template,
            placeholder=shown,
        )
    return tr(
        "template '{template}' uses {placeholder}, but the entry event ({event}) carries no order",
        template=template,
        placeholder=shown,
        event=entry,
    )


def _ruled_out(ws: Workspace, channel: str, marketing: bool, facts: _Facts) -> str | None:
    contact = catalog.CHANNEL_CONTACT.get(channel)
    if contact is not None and contact in facts.missing:
        return tr("customer.{attribute} is null", attribute=contact)
    if marketing and facts.flags.get("unsubscribed") is True:
        return tr("the customer unsubscribed")
    rule = ws.policies.consent.get(channel)
    if marketing and rule is not None and rule.attribute is not None and facts.flags.get(rule.attribute) is False:
        return tr("customer.{attribute} is false", attribute=rule.attribute)
    return None
