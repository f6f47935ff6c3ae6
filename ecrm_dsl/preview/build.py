"""A message as one customer would receive it, built by the dispatcher's own code (:func:`dispatch.compose`) from
the step's params, the customer's profile and entry event, the products and coupon a send would show, and the
delivery settings (shop, unsubscribe link, sender). Nothing is written: no code is drawn, nothing is queued."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ecrm_dsl.delivery.config import DeliveryConfig
from ecrm_dsl.delivery.line import line_messages
from ecrm_dsl.delivery.message import Message
from ecrm_dsl.delivery.render import RenderError, product_namespaces
from ecrm_dsl.language import catalog
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.language.line_limits import line_problems
from ecrm_dsl.plan.model import Plan
from ecrm_dsl.plan.project import TemplatePlan
from ecrm_dsl.preview.payloads import payload
from ecrm_dsl.preview.target import PreviewError, Target, did_you_mean
from ecrm_dsl.runtime.dispatch import compose
from ecrm_dsl.runtime.policy import CapCheck, cap_lookback, quiet_until, reachable
from ecrm_dsl.runtime.product_context import Wanted, product_context
from ecrm_dsl.store import coupons, customers, outbox, previews
from ecrm_dsl.store.enrollments import Enrollment

ORDER_EVENT = "order.placed"  # what a template previewed on its own takes its order and event values from
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class ChannelPreview:
    """One channel's message: what the adapter is handed, what it would send, and what to know about it."""

    channel: str
    message: Message
    payload: dict[str, Any]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    target: Target
    customer_id: str
    at: datetime  # shop-local
    category: str
    channels: tuple[ChannelPreview, ...]
    would_send: bool  # False: the customer would get nothing now (the lines in ``delivery`` say why)
    delivery: tuple[str, ...]  # which channel the customer would get, and why; holdout, caps, quiet hours
    coupon: dict[str, Any] | None = None
    context: tuple[str, ...] = field(default=())  # where the event and order values come from

    @property
    def contact_details(self) -> tuple[str, ...]:
        """The customer's contact details, for redacting the output."""
        return self.channels[0].message.recipient.contact_details() if self.channels else ()


def build_preview(
    conn: Connection,
    plan: Plan,
    target: Target,
    customer_id: str,
    at: datetime,
    config: DeliveryConfig,
    *,
    params: Mapping[str, str] | None = None,
    channels: Sequence[str] | None = None,
    unsubscribe: Callable[[str, str], str | None] | None = None,
) -> Preview:
    """The preview of ``target`` for ``customer_id`` at ``at``; ``channels`` narrows the channels shown (a
    template shows all of its own; a step the one its customer would get). ``params`` override the step's;
    ``unsubscribe`` (customer id, channel → link) replaces the configured links (a test send's names nobody)."""
    zone = ZoneInfo(plan.timezone)
    at = at.astimezone(zone)
    profile = customers.profiles(conn, [customer_id]).get(customer_id)
    if profile is None:
        near = did_you_mean(customer_id, previews.ids_near(conn, customer_id))
        raise PreviewError(
            tr(
                "the store has no customer '{customer}'{did_you_mean} (ids are matched exactly, case included)",
                customer=customer_id,
                did_you_mean=near,
            )
        )
    template = plan.templates[target.template]
    step, scenario = target.step, target.scenario
    enrollment = previews.latest_enrollment(conn, customer_id, scenario.id) if scenario else None
    event, context = _event(conn, target, enrollment, customer_id, at)
    has_order = enrollment.entry_order_id is not None if enrollment else bool(event.get("order_id"))
    delivery: list[str] = []
    would_send = True
    if step is not None:
        chosen, would_send = _step_delivery(conn, plan, target, template, profile, enrollment, has_order, at, delivery)
        shown = [c for c in (channels or [chosen]) if c in (step.channel, *step.fallback)]
        if channels and not shown:
            sends_on, asked = _either((step.channel, *step.fallback)), _either(channels)
            raise PreviewError(
                tr("{target} sends on {channels}, not {asked}", target=target, channels=sends_on, asked=asked)
            )
        if chosen not in shown:
            delivery.append(
                tr(
                    "shown on {shown} as asked; this customer would get it on {chosen}",
                    shown=", ".join(shown),
                    chosen=chosen,
                )
            )
    else:
        shown = [c for c in template.channels if not channels or c in channels]
        if channels and not shown:
            listed = _either(template.channels)
            raise PreviewError(
                tr(
                    "template {template} has content for {channels}, not {asked}",
                    template=target.template,
                    channels=listed,
                    asked=_either(channels),
                )
            )
        reached = 0
        for channel in shown:
            reach = reachable([channel], profile, template.marketing, plan.policies.consent, has_order)
            if reach.channel is None:
                delivery.append(tr("would not reach them by {reason}", reason=reach.reasons[0]))
            reached += reach.channel is not None
        would_send = reached > 0
    row_params: dict[str, Any] = dict(step.params) if step is not None else {}
    row_params.update(params or {})
    for name in sorted(set(template.params) - set(template.defaults) - set(row_params)):
        context.append(
            tr("param {name} has no value and renders empty (a step gives it; or --param {name}=…)", name=name)
        )
    coupon = _coupon(conn, template, enrollment, at, zone, delivery)
    would_send = would_send and (coupon is not None or template.coupon is None)
    links = unsubscribe or config.unsubscribe_url
    if coupon is not None:
        row_params["coupon"] = {"code": coupon["code"], "expires_on": coupon["expires_on"]}
    built = tuple(
        _channel(conn, plan, target, template, profile, event, row_params, channel, enrollment, at, config, links)
        for channel in shown
    )
    return Preview(
        target, customer_id, at, template.category, built, would_send, tuple(delivery), coupon, tuple(context)
    )


def _either(names: Sequence[str]) -> str:
    """``line``, ``line or email``, ``line, email or sms``."""
    if len(names) > 1:
        return tr("{names} or {last}", names=", ".join(names[:-1]), last=names[-1])
    return "".join(names)


def _event(
    conn: Connection, target: Target, enrollment: Enrollment | None, customer_id: str, at: datetime
) -> tuple[dict[str, Any], list[str]]:
    """The entry event's properties, and a sentence saying where they come from."""
    scenario = target.scenario
    if enrollment is not None and enrollment.entry_event_id is not None:
        props = customers.entry_event_properties(conn, [enrollment.entry_event_id]).get(enrollment.entry_event_id, {})
        entered = enrollment.entered_at.astimezone(at.tzinfo).isoformat()
        said = tr(
            "event and order values: from their entry into {scenario} at {entered}",
            scenario=scenario.id if scenario else "",
            entered=entered,
        )
        return props, [said]
    kind = scenario.entry_event if scenario is not None else ORDER_EVENT
    if kind is None:
        return {}, []
    found = previews.latest_event(conn, customer_id, kind, at)
    if found is None:
        return {}, [tr("event and order values: empty (no {event} event of theirs by then)", event=kind)]
    return found, [tr("event and order values: from their latest {event} event", event=kind)]


def _step_delivery(
    conn: Connection,
    plan: Plan,
    target: Target,
    template: TemplatePlan,
    profile: dict[str, Any],
    enrollment: Enrollment | None,
    has_order: bool,
    at: datetime,
    lines: list[str],
) -> tuple[str, bool]:
    """The channel the step would use for this customer, whether it would send at ``at``, and why (``lines``)."""
    step, scenario = target.step, target.scenario
    assert step is not None and scenario is not None
    would = True
    if enrollment is None:
        lines.append(tr("not enrolled in {scenario}: previewed as if they had entered", scenario=scenario.id))
    elif enrollment.holdout:
        lines.append(
            tr(
                "in the holdout of {scenario}: measured, never messaged — they would not receive it",
                scenario=scenario.id,
            )
        )
        would = False
    options = [step.channel, *step.fallback]
    reach = reachable(options, profile, template.marketing, plan.policies.consent, has_order)
    if reach.channel is None:
        lines.append(
            tr("no reachable channel: {reasons} — they would not receive it", reasons="; ".join(reach.reasons))
        )
        return step.channel, False
    if reach.reasons:
        lines.append(
            tr("channel: {channel} (fallback; {reasons})", channel=reach.channel, reasons="; ".join(reach.reasons))
        )
    else:
        lines.append(tr("channel: {channel}", channel=reach.channel))
    if not template.marketing:
        return reach.channel, would
    quiet = quiet_until(at, plan.policies.quiet_hours, plan.timezone)
    if quiet is not None:
        lines.append(tr("quiet hours: a send now would wait until {until}", until=quiet.isoformat()))
    caps = plan.policies.frequency_caps
    if caps:
        recent = outbox.recent_sends(conn, [profile["id"]], cap_lookback(at, caps)).get(profile["id"], [])
        verdict = CapCheck(caps, plan.timezone).verdict(reach.channel, recent, at)
        if verdict.action == "skip":
            lines.append(tr("{reason}: they would not receive it", reason=verdict.reason))
            would = False
        elif verdict.action == "defer" and verdict.until is not None:
            until = verdict.until.astimezone(at.tzinfo).isoformat()
            lines.append(tr("{reason}: a send now would wait until {until}", reason=verdict.reason, until=until))
    return reach.channel, would


def _coupon(
    conn: Connection,
    template: TemplatePlan,
    enrollment: Enrollment | None,
    at: datetime,
    zone: ZoneInfo,
    lines: list[str],
) -> dict[str, Any] | None:
    """The code a send would show — the one the enrollment holds, else the pool's next — without taking it."""
    draw = template.coupon
    if draw is None:
        return None
    mine = coupons.held(conn, draw.pool, enrollment.id) if enrollment is not None else None
    found = mine or coupons.peek(conn, draw.pool, at + timedelta(seconds=draw.valid_for_seconds))
    if found is None:
        lines.append(
            tr(
                "coupon pool {pool} has no unused code left: the send would be skipped (import more with ecrm import "
                "coupons)",
                pool=draw.pool,
            )
        )
        return None
    # The last shop day it is valid on, as the send shows it: a code that expires at 00:00 is good the day before.
    expires_on = (found.expires_at - _INSTANT).astimezone(zone).date().isoformat() if found.expires_at else ""
    return {"pool": draw.pool, "code": found.code, "expires_on": expires_on, "held": mine is not None}


def _channel(
    conn: Connection,
    plan: Plan,
    target: Target,
    template: TemplatePlan,
    profile: dict[str, Any],
    event: dict[str, Any],
    params: dict[str, Any],
    channel: str,
    enrollment: Enrollment | None,
    at: datetime,
    config: DeliveryConfig,
    unsubscribe: Callable[[str, str], str | None],
) -> ChannelPreview:
    step, scenario = target.step, target.scenario
    key_owner = str(enrollment.id) if enrollment is not None else f"preview-{profile['id']}"
    row = {
        "idempotency_key": f"{key_owner}:{step.id if step else target.template}",
        "customer_id": profile["id"],
        "scenario_id": scenario.id if scenario else "",
        "scenario_hash": scenario.hash if scenario else "",
        "node_id": step.id if step else "",
        "channel": channel,
        "template": target.template,
        "category": template.category,
        "params": params,
    }
    used = product_namespaces(template.content.get(channel))
    products = None
    if used:
        wanted = {0: Wanted(profile["id"], event.get("order_id"), used)}
        products = product_context(conn, wanted, at, at.date())[0]
    try:
        message = compose(row, profile, event, plan, products, shop=config.shop, unsubscribe=unsubscribe)
    except RenderError as exc:
        raise PreviewError(
            tr("cannot render {target} for {channel}: {error}", target=target, channel=channel, error=exc)
        ) from None
    return ChannelPreview(
        channel, message, payload(message, mail_from=config.mail_from, at=at), tuple(_notes(message, config))
    )


def _notes(message: Message, config: DeliveryConfig) -> list[str]:
    """What the adapter would say about this message before sending it."""
    notes = []
    contact = catalog.CHANNEL_CONTACT.get(message.channel)
    if contact and not getattr(message.recipient, contact, None):
        notes.append(tr("the customer has no {contact}: the adapter would refuse this message", contact=contact))
    if message.channel == "email":
        if message.marketing and not message.unsubscribe_url:
            notes.append(
                tr(
                    "no unsubscribe link (set ECRM_UNSUBSCRIBE_BASE_URL and ECRM_UNSUBSCRIBE_SECRET): the SMTP adapter "
                    "refuses marketing mail without one"
                )
            )
        if not config.mail_from:
            notes.append(tr("ECRM_MAIL_FROM is not set: the sender shown is a placeholder"))
    if message.channel == "line":
        if not line_messages(message.content):
            notes.append(tr("the LINE message renders empty: the adapter would refuse it"))
        notes += [
            tr("LINE would refuse it: {problem}", problem=p.message)
            for p in line_problems(message.content, rendered=True)
        ]
    return notes
