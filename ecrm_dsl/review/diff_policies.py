"""Policies and the customer schema, two versions: quiet hours, calendar, frequency caps, consent, the
scenarios' priority order, nurture-only segments; custom attributes and event properties."""

from __future__ import annotations

from typing import Any

from ecrm_dsl.plan import text
from ecrm_dsl.review.diff_flow import common_order
from ecrm_dsl.review.diff_model import Change, Changes, Code

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
    out.value("timezone", ("timezone",), old.get("timezone"), new.get("timezone"))
    out.value("quiet_hours", ("quiet hours",), old.get("quiet_hours"), new.get("quiet_hours"), _quiet)
    _calendar(out, old.get("calendar") or {}, new.get("calendar") or {})
    _caps(out, old.get("frequency_caps") or [], new.get("frequency_caps") or [])
    old_consent, new_consent = old.get("consent") or {}, new.get("consent") or {}
    for channel in sorted(set(old_consent) | set(new_consent)):
        out.value(
            "consent",
            ("consent for ", Code(channel), ":"),
            _consent(old_consent.get(channel)),
            _consent(new_consent.get(channel)),
        )
    _priority(out, old.get("priority") or [], new.get("priority") or [])
    _members(
        out, "nurture_only", ("nurture-only segment",), old.get("nurture_only") or [], new.get("nurture_only") or []
    )
    for key in sorted((set(old) | set(new)) - _POLICY_KEYS):
        if old.get(key) != new.get(key):
            out.add("other", (Code(key), " changed"), before=old.get(key), after=new.get(key))


def _consent(rule: Json | None) -> str:
    if rule is None:
        return "no rule (marketing cannot be sent)"
    return f"customer.{rule['attribute']}" if rule.get("attribute") else "implied"


def _calendar(out: Changes, old: Json, new: Json) -> None:
    out.value("calendar", ("national holidays",), old.get("holidays"), new.get("holidays"), _none_text)
    out.value(
        "calendar",
        ("weekends",),
        old.get("weekends") or [],
        new.get("weekends") or [],
        lambda v: ", ".join(v) or "none",
    )
    _members(out, "calendar", ("shop holiday",), old.get("shop_holidays") or [], new.get("shop_holidays") or [])


def _none_text(value: Any) -> str:
    return "none" if value is None else str(value)


def _members(out: Changes, kind: str, noun: tuple[str, ...], old: list[str], new: list[str]) -> None:
    gone, came = [x for x in old if x not in new], [x for x in new if x not in old]
    if came:
        label = (*noun, "s" if len(came) > 1 else "", " added: ")
        out.add(kind, (*label, Code(", ".join(came))), after=came)
    if gone:
        label = (*noun, "s" if len(gone) > 1 else "", " removed: ")
        out.add(kind, (*label, Code(", ".join(gone))), before=gone)


def _caps(out: Changes, old: list[Json], new: list[Json]) -> None:
    def key(c: Json) -> tuple[str, int]:
        return str(c.get("channel")), int(c.get("per_seconds") or 0)

    old_by, new_by = {key(c): c for c in old}, {key(c): c for c in new}
    for k in [key(c) for c in old] + [key(c) for c in new if key(c) not in old_by]:
        if k not in new_by:
            out.add("frequency_caps", ("frequency cap removed: ", Code(_cap(old_by[k]))), before=_cap(old_by[k]))
        elif k not in old_by:
            out.add("frequency_caps", ("frequency cap added: ", Code(_cap(new_by[k]))), after=_cap(new_by[k]))
        elif old_by[k] != new_by[k]:
            before, after = old_by[k], new_by[k]
            label = ("frequency cap ", Code(f"{k[0]} per {_per(after)}"))
            out.value("frequency_caps", (*label, ": at most"), before.get("max"), after.get("max"))
            out.value("frequency_caps", (*label, ": over the cap,"), before.get("on_exceed"), after.get("on_exceed"))
            out.value("frequency_caps", (*label, ": counted"), _window(before), _window(after))


def _window(cap: Json) -> str:
    """``per: 1d`` counts shop calendar days, ``per: 24h`` a rolling window (and so did every cap of older plans)."""
    return "by calendar day" if cap.get("window") == "calendar" else "over a rolling window"


def _priority(out: Changes, old: list[str], new: list[str]) -> None:
    """The order in words: only the scenarios that moved themselves, were added or were dropped."""
    if old == new:
        return
    kept = common_order([s for s in old if s in new], [s for s in new if s in old])
    parts: list[str] = []
    for sid in new:
        if sid not in old:
            parts += [", " if parts else "", Code(sid), f" added at #{new.index(sid) + 1}"]
        elif sid not in kept:
            parts += [", " if parts else "", Code(sid), f" #{old.index(sid) + 1} → #{new.index(sid) + 1}"]
    for sid in old:
        if sid not in new:
            parts += [", " if parts else "", Code(sid), f" dropped (was #{old.index(sid) + 1})"]
    out.add("priority", ("priority order: ", *parts), before=old, after=new)


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
            message: tuple[str, ...] = (f"priority: now ranked #{rank} (was not listed)",)
        else:
            was = old.index(sid) + 1
            passed = [o for o in new[new.index(sid) + 1 :] if o in old and old.index(o) < old.index(sid)]
            behind = [o for o in new[: new.index(sid)] if o in old and old.index(o) > old.index(sid)]
            if passed:
                tail: tuple[str, ...] = (" (now ahead of ", *_join_code(passed), ")")
            elif behind:
                tail = (" (now behind ", *_join_code(behind), ")")
            else:
                tail = ()
            message = (f"priority #{was} → #{rank}", *tail)
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
                    (f"priority: no longer listed (was #{old.index(sid) + 1})",),
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
    out.types("attribute", old.get("attributes") or {}, new.get("attributes") or {}, "customer.")
    old_events, new_events = old.get("events") or {}, new.get("events") or {}
    for event in sorted(set(old_events) | set(new_events)):
        out.types("event property", old_events.get(event) or {}, new_events.get(event) or {}, f"{event}.")
