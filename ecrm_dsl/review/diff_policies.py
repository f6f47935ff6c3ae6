"""Policies and the customer schema, two versions: quiet hours, calendar, frequency caps, consent, the
scenarios' priority order, nurture-only segments; custom attributes and event properties."""

from __future__ import annotations

from typing import Any

from ecrm_dsl.language.i18n import n_, tr, trn
from ecrm_dsl.plan import text
from ecrm_dsl.review.diff_flow import common_order
from ecrm_dsl.review.diff_model import Change, Changes, Code, Message, say

Json = dict[str, Any]
_POLICY_KEYS = {"timezone", "quiet_hours", "calendar", "frequency_caps", "consent", "priority", "nurture_only"}


def _quiet(q: Json | None) -> str:
    return f"{q['start']}–{q['end']}" if q else "none"


def _cap(c: Json) -> str:
    return f"{c.get('channel')}: at most {c.get('max')} per {_per(c)}, then {c.get('on_exceed')}"


def _per(c: Json) -> str:
    """The window as a planner writes it: whole days for a calendar cap, hours for a rolling one (``24h``)."""
    seconds = int(c.get("per_seconds") or 0)
    if c.get("window") == "calendar" or seconds % 3600:
        return text.duration(seconds)
    return f"{seconds // 3600}h"


def compare_policies(out: Changes, old: Json, new: Json) -> None:
    out.value("timezone", (tr("timezone"),), old.get("timezone"), new.get("timezone"))
    out.value("quiet_hours", (tr("quiet hours"),), old.get("quiet_hours"), new.get("quiet_hours"), _quiet)
    _calendar(out, old.get("calendar") or {}, new.get("calendar") or {})
    _caps(out, old.get("frequency_caps") or [], new.get("frequency_caps") or [])
    old_consent, new_consent = old.get("consent") or {}, new.get("consent") or {}
    for channel in sorted(set(old_consent) | set(new_consent)):
        out.value(
            "consent",
            say(n_("consent for {channel}:"), channel=channel),
            _consent(old_consent.get(channel)),
            _consent(new_consent.get(channel)),
        )
    _priority(out, old.get("priority") or [], new.get("priority") or [])
    nurture = (old.get("nurture_only") or [], new.get("nurture_only") or [])
    _members(out, "nurture_only", _nurture_only, *nurture)
    for key in sorted((set(old) | set(new)) - _POLICY_KEYS):
        if old.get(key) != new.get(key):
            out.add("other", say(n_("{field} changed"), field=key), before=old.get(key), after=new.get(key))


def _consent(rule: Json | None) -> str:
    if rule is None:
        return "no rule (marketing cannot be sent)"
    return f"customer.{rule['attribute']}" if rule.get("attribute") else "implied"


def _calendar(out: Changes, old: Json, new: Json) -> None:
    out.value("calendar", (tr("national holidays"),), old.get("holidays"), new.get("holidays"), _none_text)
    out.value(
        "calendar",
        (tr("weekends"),),
        old.get("weekends") or [],
        new.get("weekends") or [],
        lambda v: ", ".join(v) or "none",
    )
    _members(out, "calendar", _shop_holidays, old.get("shop_holidays") or [], new.get("shop_holidays") or [])


def _none_text(value: Any) -> str:
    return "none" if value is None else str(value)


def _shop_holidays(added: bool, count: int) -> str:
    if added:
        return trn("shop holiday added: {names}", "shop holidays added: {names}", count, names="{names}")
    return trn("shop holiday removed: {names}", "shop holidays removed: {names}", count, names="{names}")


def _nurture_only(added: bool, count: int) -> str:
    if added:
        return trn(
            "nurture-only segment added: {names}", "nurture-only segments added: {names}", count, names="{names}"
        )
    return trn(
        "nurture-only segment removed: {names}", "nurture-only segments removed: {names}", count, names="{names}"
    )


def _members(out: Changes, kind: str, said: Any, old: list[str], new: list[str]) -> None:
    """Members that came and went; ``said(added, count)`` is the sentence, with ``{names}`` left to fill."""
    gone, came = [x for x in old if x not in new], [x for x in new if x not in old]
    if came:
        out.add(kind, say(said(True, len(came)), names=", ".join(came)), after=came)
    if gone:
        out.add(kind, say(said(False, len(gone)), names=", ".join(gone)), before=gone)


def _caps(out: Changes, old: list[Json], new: list[Json]) -> None:
    def key(c: Json) -> tuple[str, int]:
        return str(c.get("channel")), int(c.get("per_seconds") or 0)

    old_by, new_by = {key(c): c for c in old}, {key(c): c for c in new}
    for k in [key(c) for c in old] + [key(c) for c in new if key(c) not in old_by]:
        if k not in new_by:
            cap = _cap(old_by[k])
            out.add("frequency_caps", say(n_("frequency cap removed: {cap}"), cap=cap), before=cap)
        elif k not in old_by:
            cap = _cap(new_by[k])
            out.add("frequency_caps", say(n_("frequency cap added: {cap}"), cap=cap), after=cap)
        elif old_by[k] != new_by[k]:
            before, after = old_by[k], new_by[k]
            which = f"{k[0]} per {_per(after)}"
            label = say(n_("frequency cap {cap}: at most"), cap=which)
            out.value("frequency_caps", label, before.get("max"), after.get("max"))
            label = say(n_("frequency cap {cap}: over the cap,"), cap=which)
            out.value("frequency_caps", label, before.get("on_exceed"), after.get("on_exceed"))
            label = say(n_("frequency cap {cap}: counted"), cap=which)
            out.value("frequency_caps", label, _window(before), _window(after))


def _window(cap: Json) -> str:
    """``per: 1d`` counts shop calendar days, ``per: 24h`` a rolling window (and so did every cap of older plans)."""
    return "by calendar day" if cap.get("window") == "calendar" else "over a rolling window"


def _priority(out: Changes, old: list[str], new: list[str]) -> None:
    """The order in words: only the scenarios that moved themselves, were added or were dropped."""
    if old == new:
        return
    kept = common_order([s for s in old if s in new], [s for s in new if s in old])
    parts: list[Message] = []
    for sid in new:
        if sid not in old:
            parts.append(say(n_("{scenario} added at #{rank}"), scenario=sid, rank=(str(new.index(sid) + 1),)))
        elif sid not in kept:
            was, rank = (str(old.index(sid) + 1),), (str(new.index(sid) + 1),)
            parts.append(say(n_("{scenario} #{was} → #{rank}"), scenario=sid, was=was, rank=rank))
    for sid in old:
        if sid not in new:
            parts.append(say(n_("{scenario} dropped (was #{was})"), scenario=sid, was=(str(old.index(sid) + 1),)))
    listed = tuple(piece for index, part in enumerate(parts) for piece in ((", ",) if index else ()) + part)
    out.add("priority", say(n_("priority order: {changes}"), changes=listed), before=old, after=new)


def priority_moves(old: list[str], new: list[str]) -> dict[str, list[Change]]:
    """Per scenario whose place in the priority order changed by its own move, which scenarios it passed."""
    if old == new:
        return {}
    kept = common_order([s for s in old if s in new], [s for s in new if s in old])
    notes: dict[str, list[Change]] = {}
    for sid in new:
        if sid in kept:
            continue
        rank = new.index(sid) + 1
        if sid not in old:
            message: Message = (tr("priority: now ranked #{rank} (was not listed)", rank=rank),)
        else:
            was = old.index(sid) + 1
            passed = [o for o in new[new.index(sid) + 1 :] if o in old and old.index(o) < old.index(sid)]
            behind = [o for o in new[: new.index(sid)] if o in old and old.index(o) > old.index(sid)]
            moves = {"was": (str(was),), "rank": (str(rank),)}
            if passed:
                message = say(
                    n_("priority #{was} → #{rank} (now ahead of {scenarios})"), **moves, scenarios=_join_code(passed)
                )
            elif behind:
                message = say(
                    n_("priority #{was} → #{rank} (now behind {scenarios})"), **moves, scenarios=_join_code(behind)
                )
            else:
                message = (tr("priority #{was} → #{rank}", was=was, rank=rank),)
        notes[sid] = [
            Change("scenario", sid, "priority", message, before=old.index(sid) + 1 if sid in old else None, after=rank)
        ]
    for sid in old:
        if sid not in new:
            notes[sid] = [
                Change(
                    "scenario",
                    sid,
                    "priority",
                    (tr("priority: no longer listed (was #{rank})", rank=old.index(sid) + 1),),
                    before=old.index(sid) + 1,
                )
            ]
    return notes


def _join_code(names: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for index, name in enumerate(names):
        out += [", "] if index else []
        out.append(Code(name))
    return tuple(out)


def compare_schema(out: Changes, old: Json, new: Json) -> None:
    out.types(n_("attribute"), old.get("attributes") or {}, new.get("attributes") or {}, "customer.")
    old_events, new_events = old.get("events") or {}, new.get("events") or {}
    for event in sorted(set(old_events) | set(new_events)):
        out.types(n_("event property"), old_events.get(event) or {}, new_events.get(event) or {}, f"{event}.")
