"""Two execution plans → a :class:`PlanDiff`: scenarios matched by id, then segments, templates, presets,
policies, schema and the project configuration.

Plans list only the segments and templates some scenario uses. Given only plans, "template added" means "now sent
by some scenario"; given both projects' snapshots (:mod:`.diff_project`), every definition is compared, used or
not, with its presets, configuration and files. Ordering is deterministic: scenarios by id, then names.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ecrm_dsl.conditions.normal import walk_segments
from ecrm_dsl.language.i18n import n_, tr
from ecrm_dsl.plan import text
from ecrm_dsl.review.diff_model import ADDED, CHANGED, REMOVED, Change, Changes, Message, PlanDiff, say
from ecrm_dsl.review.diff_policies import compare_policies, compare_schema, priority_moves
from ecrm_dsl.review.diff_project import ProjectSnapshot, compare_config, compare_presets, file_changes
from ecrm_dsl.review.diff_scenario import added_scenario, compare_scenario, removed_scenario

Json = dict[str, Any]
DETAIL_LINES = 8  # changed lines shown per template field; reviewers open the file for the rest
_TEMPLATE_KEYS = {"title", "category", "content", "channels", "params", "defaults", "hash"}
_PLAN_KEYS = {"format", "version", "schema", "policies", "segments", "templates", "scenarios"}


def diff_plans(
    base: Json,
    head: Json,
    base_label: str = "base",
    head_label: str = "head",
    projects: tuple[ProjectSnapshot, ProjectSnapshot] | None = None,
    renames: dict[str, str] | None = None,
) -> PlanDiff:
    """The changes from ``base`` to ``head``; with ``projects`` (both sides' snapshots) every project file's, and
    ``renames`` (old path -> new path, as git reports them) pairs files that moved."""
    changes: list[Change] = []
    status: dict[tuple[str, str], str] = {}
    old_scenarios = {s["id"]: s for s in base.get("scenarios", [])}
    new_scenarios = {s["id"]: s for s in head.get("scenarios", [])}
    old_policies, new_policies = base.get("policies", {}), head.get("policies", {})
    priority_notes = priority_moves(old_policies.get("priority", []), new_policies.get("priority", []))
    for sid in sorted(set(old_scenarios) | set(new_scenarios)):
        old, new = old_scenarios.get(sid), new_scenarios.get(sid)
        if new is not None and old is None:
            found, state = added_scenario(new), ADDED
        elif old is not None and new is None:
            found, state = removed_scenario(old), REMOVED
        else:
            assert old is not None and new is not None
            found = compare_scenario(old, new, new_policies.get("nurture_only", []), priority_notes.get(sid, []))
            if not found and old.get("hash") != new.get("hash") and old.get("priority") == new.get("priority"):
                found = [Change("scenario", sid, "other", ("content changed (no detail available)",))]
            state = CHANGED
        if found:
            changes += found
            status[("scenario", sid)] = state
    used_by = _usage(base, head)
    if projects is None:
        _named(changes, status, "segment", base.get("segments", {}), head.get("segments", {}), _segment)
        _named(changes, status, "template", base.get("templates", {}), head.get("templates", {}), _template)
    else:
        old_project, new_project = projects
        for scope, compare in (("segment", _segment), ("template", _template)):
            defined = (getattr(old_project, scope + "s"), getattr(new_project, scope + "s"))
            in_plans = (set(base.get(scope + "s", {})), set(head.get(scope + "s", {})))
            _defined(changes, status, scope, defined, in_plans, compare)
        for preset in compare_presets(old_project, new_project):
            changes.extend(preset.items)
            status[("preset", preset.subject)] = _state(preset.items[0].kind)
        for name in sorted(set(old_project.preset_users) | set(new_project.preset_users)):
            users = {*old_project.preset_users.get(name, []), *new_project.preset_users.get(name, [])}
            used_by[("preset", name)] = sorted(users)
    policy = Changes("policies", "policies")
    compare_policies(policy, old_policies, new_policies)
    _keep(changes, status, "policies", "policies", policy.items)
    schema = Changes("schema", "schema")
    compare_schema(schema, base.get("schema") or {}, head.get("schema") or {})
    for key in sorted((set(base) | set(head)) - _PLAN_KEYS):
        if base.get(key) != head.get(key):
            message = say(n_("plan field {field} changed"), field=key)
            schema.add("other", message, before=base.get(key), after=head.get(key))
    _keep(changes, status, "schema", "schema", schema.items)
    if projects is None:
        return PlanDiff(base_label, head_label, changes, status, used_by)
    _keep(changes, status, "config", "config", compare_config(*projects).items)
    files = file_changes(*projects, renames)
    nurture = frozenset(old_policies.get("nurture_only", [])) | frozenset(new_policies.get("nurture_only", []))
    return PlanDiff(base_label, head_label, changes, status, used_by, files=files, projects=True, nurture_only=nurture)


def _state(kind: str) -> str:
    return ADDED if kind.endswith("_added") else REMOVED if kind.endswith("_removed") else CHANGED


def _defined(
    changes: list[Change],
    status: dict[tuple[str, str], str],
    scope: str,
    defined: tuple[Json, Json],
    in_plans: tuple[set[str], set[str]],
    compare: Any,
) -> None:
    """Segments or templates as the projects define them, used or not; a change of use is a change too."""
    old, new = defined
    for name in sorted(set(old) | set(new)):
        out = Changes(scope, name)
        if name not in old:
            out.add(f"{scope}_added", _described(scope, name, new[name], used=False))
            state = ADDED
        elif name not in new:
            said = n_("segment {name} removed") if scope == "segment" else n_("template {name} removed")
            out.add(f"{scope}_removed", say(said, name=name))
            state = REMOVED
        else:
            compare(out, old[name], new[name])
            was, now = name in in_plans[0], name in in_plans[1]
            if now and not was:
                out.add(f"{scope}_used", (tr("now used (no scenario used it before)"),))
            elif was and not now:
                out.add(f"{scope}_unused", (tr("no longer used by any scenario"),))
            state = CHANGED
        if out.items:
            changes.extend(out.items)
            status[(scope, name)] = state


def _keep(
    changes: list[Change], status: dict[tuple[str, str], str], scope: str, subject: str, found: list[Change]
) -> None:
    if found:
        changes.extend(found)
        status[(scope, subject)] = CHANGED


def _named(
    changes: list[Change], status: dict[tuple[str, str], str], scope: str, old: Json, new: Json, compare: Any
) -> None:
    for name in sorted(set(old) | set(new)):
        out = Changes(scope, name)
        if name not in old:
            out.add(f"{scope}_added", _described(scope, name, new[name], used=True))
            state = ADDED
        elif name not in new:
            if scope == "segment":
                said = n_("segment {name} no longer used by any scenario")
            else:
                said = n_("template {name} no longer used by any scenario")
            out.add(f"{scope}_removed", say(said, name=name))
            state = REMOVED
        else:
            compare(out, old[name], new[name])
            state = CHANGED
        if out.items:
            changes.extend(out.items)
            status[(scope, name)] = state


def _described(scope: str, name: str, entry: Json, *, used: bool) -> Message:
    """A segment or template that came (``used``: came into use): ``segment x added: condition``, ``template y
    added (marketing, email)``."""
    if scope == "segment":
        said = n_("segment {name} now used: {condition}") if used else n_("segment {name} added: {condition}")
        return say(said, name=name, condition=(text.condition(entry.get("condition")),))
    if used:
        said = n_("template {name} now used ({category}, {channels})")
    else:
        said = n_("template {name} added ({category}, {channels})")
    category, channels = (str(entry.get("category")),), (", ".join(entry.get("channels", [])),)
    return say(said, name=name, category=category, channels=channels)


# --------------------------------------------------------------------------- usage


def _usage(base: Json, head: Json) -> dict[tuple[str, str], list[str]]:
    """Which scenarios use each segment (directly or through other segments) and each template, in either plan."""
    used: dict[tuple[str, str], set[str]] = {}
    for plan in (base, head):
        segments = {name: s.get("condition") for name, s in plan.get("segments", {}).items()}
        for scenario in plan.get("scenarios", []):
            for name in _segments_of(scenario, segments):
                used.setdefault(("segment", name), set()).add(scenario["id"])
            for node in scenario.get("nodes", []):
                if node.get("kind") == "send":
                    used.setdefault(("template", node.get("template")), set()).add(scenario["id"])
    return {key: sorted(ids) for key, ids in sorted(used.items())}


def _segments_of(scenario: Json, segments: dict[str, Any]) -> set[str]:
    trigger = scenario.get("trigger", {})
    found = {trigger[k] for k in ("segment", "audience") if trigger.get(k)}
    conditions = [trigger.get("where")]
    conditions += [g.get("where") for g in scenario.get("goals", [])]
    conditions += [s.get("where") or s.get("when") for s in scenario.get("stop", [])]
    for node in scenario.get("nodes", []):
        conditions += [node.get("guard"), node.get("where")]
        conditions += [arm.get("condition") for arm in node.get("arms", [])]
    for condition in conditions:
        if condition is not None:
            found.update(walk_segments(condition))
    frontier = list(found)
    while frontier:
        for name in walk_segments(segments.get(frontier.pop()) or []):
            if name not in found:
                found.add(name)
                frontier.append(name)
    return found


# --------------------------------------------------------------------------- segments and templates


def _segment(out: Changes, old: Json, new: Json) -> None:
    out.value("title", (tr("title"),), old.get("title"), new.get("title"), lambda v: "none" if v is None else str(v))
    out.condition("condition", (tr("condition"),), old.get("condition"), new.get("condition"))


_CATEGORY_NOTES = {
    "transactional": n_("category {before} → {after} — now passes quiet hours, consent checks and frequency caps"),
    "marketing": n_(
        "category {before} → {after} — now needs consent, waits out quiet hours and counts toward frequency caps"
    ),
}


def _template(out: Changes, old: Json, new: Json) -> None:
    out.value("title", (tr("title"),), old.get("title"), new.get("title"), lambda v: "none" if v is None else str(v))
    before, after = old.get("category"), new.get("category")
    if before != after:
        said = _CATEGORY_NOTES.get(str(after), n_("category {before} → {after}"))
        out.add("category", say(said, before=str(before), after=str(after)), before=before, after=after)
    old_content, new_content = old.get("content") or {}, new.get("content") or {}
    for channel in sorted(set(old_content) | set(new_content)):
        if channel not in new_content:
            out.add("channel_removed", say(n_("{channel} content removed"), channel=channel), before=channel)
        elif channel not in old_content:
            content = new_content[channel]
            fields = content if isinstance(content, dict) else {"content": content}
            detail = tuple(line for field in sorted(fields) for line in _lines([], f"{field}: {fields[field]}"))
            message = say(n_("{channel} content added"), channel=channel)
            out.add("channel_added", message, after=channel, detail=detail)
        else:
            _content(out, channel, old_content[channel], new_content[channel])
    out.types(n_("param"), old.get("params") or {}, new.get("params") or {})
    old_defaults, new_defaults = old.get("defaults") or {}, new.get("defaults") or {}
    for name in sorted(set(old_defaults) | set(new_defaults)):
        out.value(
            "param_default",
            say(n_("default of {param}"), param=name),
            old_defaults.get(name),
            new_defaults.get(name),
            lambda v: "none" if v is None else text.param(v),
        )
    for key in sorted((set(old) | set(new)) - _TEMPLATE_KEYS):
        if old.get(key) != new.get(key):
            out.add("other", say(n_("{field} changed"), field=key), before=old.get(key), after=new.get(key))


def _content(out: Changes, channel: str, old: Any, new: Any) -> None:
    if old == new:
        return
    if not isinstance(old, dict) or not isinstance(new, dict):
        out.add("content", say(n_("{channel} content changed"), channel=channel), before=old, after=new)
        return
    for field in sorted(set(old) | set(new)):
        if old.get(field) == new.get(field):
            continue
        label = f"{channel} {field}"
        if field not in new:
            out.add("content", say(n_("{field} removed"), field=label), before=old[field])
        elif field not in old:
            detail = _lines([], _text(new[field]))
            out.add("content", say(n_("{field} added"), field=label), after=new[field], detail=detail)
        else:
            out.add(
                "content",
                say(n_("{field} changed"), field=label),
                before=old[field],
                after=new[field],
                detail=_lines(_text(old[field]).splitlines(), _text(new[field])),
            )


def _text(value: Any) -> str:
    """A content field as a reviewer reads it: text as it is; LINE's image, buttons or link as indented JSON, a
    line per key, so that a changed label is one changed line."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _lines(old_lines: list[str], new_text: str) -> tuple[str, ...]:
    """The changed lines, ``- old`` / ``+ new``, at most DETAIL_LINES of them."""
    changed = [
        line
        for line in difflib.ndiff(old_lines, new_text.splitlines())
        if line.startswith(("- ", "+ ")) and line[2:].strip()
    ]
    shown = [line if len(line) <= 120 else line[:119] + "…" for line in changed[:DETAIL_LINES]]
    if len(changed) > DETAIL_LINES:
        shown.append(tr("… {count} more changed lines", count=len(changed) - DETAIL_LINES))
    return tuple(shown)
