"""The result of a semantic diff: change records in words, the status of each thing compared, and the impact.

A message is a tuple of pieces; pieces that are source text (names, conditions, timings) are :class:`Code`, so
the Markdown renderer can set them in code type without guessing, while text and JSON simply join them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from ecrm_dsl.language.i18n import lookup, n_, tr, trn
from ecrm_dsl.plan import text

SCOPES = ("scenario", "segment", "template", "preset", "policies", "schema", "config")
NAMED = ("segment", "template", "preset")  # scopes whose subjects are names defined in the project's files
ADDED, REMOVED, CHANGED, RENAMED = "added", "removed", "changed", "renamed"


class Code(str):
    """A piece of source text inside a message (a step id, a condition, a timing)."""

    __slots__ = ()


Message = tuple[str, ...]


def msg(*parts: str) -> Message:
    return tuple(parts)


def plain(message: Message) -> str:
    return "".join(message)


_FIELD = re.compile(r"\{(\w+)\}")


def say(template: str, /, **pieces: str | Message) -> Message:
    """``template`` (an English sentence marked with ``n_()``) in the current language, as a message: each
    ``{field}`` filled with a piece of source text (a ``str``, set as :class:`Code`) or with a message's pieces (a
    tuple, kept as they are). The translation may put the fields in another order."""
    out: list[str] = []
    for index, piece in enumerate(_FIELD.split(lookup(template))):
        if index % 2:
            value = pieces[piece]
            out.extend((Code(value),) if isinstance(value, str) else value)
        elif piece:
            out.append(piece)
    return tuple(out)


def state_word(state: str) -> str:
    """``changed``, ``added``, ``removed`` or ``renamed`` in the current language (the JSON keeps the English)."""
    return lookup(_STATE_WORDS.get(state, state))


_STATE_WORDS = {CHANGED: n_("changed"), ADDED: n_("added"), REMOVED: n_("removed"), RENAMED: n_("renamed")}


@dataclass(frozen=True)
class Change:
    """One thing a reviewer should know, e.g. a step that moved from day 7 to day 5."""

    scope: str  # one of SCOPES
    subject: str  # scenario id, segment or template name; "policies" / "schema"
    kind: str  # stable machine name: "timing", "channel", "step_added", …
    message: Message
    step: str | None = None
    before: Any = None  # display values: condition text, timing text, numbers, lists
    after: Any = None
    detail: tuple[str, ...] = ()  # extra lines, e.g. a template's changed lines as "- old" / "+ new"

    @property
    def text(self) -> str:
        return plain(self.message)

    def record(self) -> dict[str, Any]:
        """The JSON form of the change."""
        return {
            "scope": self.scope,
            "scenario": self.subject if self.scope == "scenario" else None,
            "name": self.subject if self.scope in NAMED else None,
            "step": self.step,
            "kind": self.kind,
            "before": self.before,
            "after": self.after,
            "message": self.text,
            "detail": list(self.detail),
        }


@dataclass(frozen=True)
class Count:
    """Customers matching an audience condition on each side (None where it could not be counted)."""

    before: int | None
    after: int | None
    basis: str  # what was counted, in words
    note: str | None = None  # why a side could not be counted


@dataclass
class ScenarioImpact:
    in_flight: int = 0  # active enrollments on any version of the scenario
    at_steps: dict[str, int] = field(default_factory=dict)  # affected step -> customers waiting to run it
    audience: Count | None = None
    power: dict[str, Any] | None = None  # with --power: what a holdout can show, from a replay of recent weeks


@dataclass
class Impact:
    store: str
    now: str  # ISO 8601 moment audiences were counted at
    scenarios: dict[str, ScenarioImpact] = field(default_factory=dict)
    segments: dict[str, Count] = field(default_factory=dict)
    templates: dict[str, dict[str, int]] = field(default_factory=dict)  # template -> "scenario.step" -> waiting
    power_span: str | None = None  # the replayed period behind each scenario's power, e.g. "4w"
    coupons: list[dict[str, Any]] = field(default_factory=list)  # with --power: how long each pool lasts


@dataclass(frozen=True)
class FileChange:
    """A project file added, removed or renamed, and what it defines ("segment dormant_150", …)."""

    path: str  # relative to the project root; for a rename, the new path
    state: str  # added / removed / renamed
    defines: list[str]
    renamed_from: str | None = None

    def record(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.state, "from": self.renamed_from, "defines": self.defines}


@dataclass
class PlanDiff:
    """Everything ``ecrm diff`` reports: changes grouped by subject, in a deterministic order."""

    base_label: str
    head_label: str
    changes: list[Change]
    status: dict[tuple[str, str], str]  # (scope, subject) -> added / removed / changed, in report order
    used_by: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # segment/template -> scenarios
    impact: Impact | None = None
    files: list[FileChange] = field(default_factory=list)  # when both sides are projects
    projects: bool = False  # both sides were projects: every definition compared, used or not
    nurture_only: frozenset[str] = frozenset()  # segments the policies name (on either side)

    @property
    def changed(self) -> bool:
        """Whether the meaning changed; files renamed, or added and removed, with the same meaning do not count."""
        return bool(self.status)

    def users(self, scope: str, subject: str) -> list[str]:
        """The scenarios that use a segment, template or preset, on either side."""
        return self.used_by.get((scope, subject), [])

    def changes_of(self, scope: str, subject: str) -> list[Change]:
        return [c for c in self.changes if c.scope == scope and c.subject == subject]

    def subjects(self, scope: str) -> list[tuple[str, str]]:
        """(subject, status) of one scope, in report order."""
        return [(subject, state) for (s, subject), state in self.status.items() if s == scope]

    def summary(self) -> str:
        """One line: "2 scenarios changed, 1 added, 1 removed; 1 segment changed; policies changed"."""
        if not self.status:
            return tr("no changes in meaning; {files}", files=self.files_summary()) if self.files else tr("no changes")
        parts = []
        for scope in ("scenario", *NAMED):
            counts = [
                (state, sum(1 for _, st in self.subjects(scope) if st == state)) for state in (CHANGED, ADDED, REMOVED)
            ]
            pieces = [(state, n) for state, n in counts if n]
            if pieces:
                (state, number), rest = pieces[0], pieces[1:]
                first = _FIRST[state](_SUBJECTS[scope](number))
                parts.append(listed([first, *(_COUNTED[s](n) for s, n in rest)]))
        for scope, wording in (
            ("policies", n_("policies changed")),
            ("schema", n_("customer schema changed")),
            ("config", n_("project configuration changed")),
        ):
            if self.subjects(scope):
                parts.append(lookup(wording))
        if self.files:
            parts.append(self.files_summary())
        return clauses(parts)

    def files_summary(self, noun: bool = True) -> str:
        """ "3 files added, 1 removed, 1 renamed" (without ``noun``: "3 added, 1 removed, 1 renamed")."""
        counts = [(state, sum(1 for f in self.files if f.state == state)) for state in (ADDED, REMOVED, RENAMED)]
        pieces = [(state, n) for state, n in counts if n]
        (state, first), rest = pieces[0], pieces[1:]
        said = _FIRST[state](_files(first)) if noun else _COUNTED[state](first)
        return listed([said, *(_COUNTED[s](n) for s, n in rest)])


def listed(items: list[str]) -> str:
    """``a, b, c`` in the current language."""
    said = items[0] if items else ""
    for item in items[1:]:
        said = tr("{items}, {item}", items=said, item=item)
    return said


def clauses(items: list[str]) -> str:
    """``a; b; c`` in the current language."""
    said = items[0] if items else ""
    for item in items[1:]:
        said = tr("{clauses}; {clause}", clauses=said, clause=item)
    return said


def _files(n: int) -> str:
    return trn("{count} file", "{count} files", n, count=n)


# The summary's words, each whole: "2 scenarios" + "changed" is said "{subjects} changed", then "1 added".
_SUBJECTS = {
    "scenario": lambda n: trn("{count} scenario", "{count} scenarios", n, count=n),
    "segment": lambda n: trn("{count} segment", "{count} segments", n, count=n),
    "template": lambda n: trn("{count} template", "{count} templates", n, count=n),
    "preset": lambda n: trn("{count} preset", "{count} presets", n, count=n),
}
_FIRST = {
    CHANGED: lambda subjects: tr("{subjects} changed", subjects=subjects),
    ADDED: lambda subjects: tr("{subjects} added", subjects=subjects),
    REMOVED: lambda subjects: tr("{subjects} removed", subjects=subjects),
    RENAMED: lambda subjects: tr("{subjects} renamed", subjects=subjects),
}
_COUNTED = {
    CHANGED: lambda n: tr("{count} changed", count=n),
    ADDED: lambda n: tr("{count} added", count=n),
    REMOVED: lambda n: tr("{count} removed", count=n),
    RENAMED: lambda n: tr("{count} renamed", count=n),
}


class Changes:
    """Collects the change records of one subject."""

    def __init__(self, scope: str, subject: str):
        self.scope, self.subject = scope, subject
        self.items: list[Change] = []

    def add(
        self,
        kind: str,
        message: Message,
        *,
        step: str | None = None,
        before: Any = None,
        after: Any = None,
        detail: tuple[str, ...] = (),
    ) -> None:
        self.items.append(Change(self.scope, self.subject, kind, message, step, before, after, detail))

    def condition(self, kind: str, label: Message, old: Any, new: Any, step: str | None = None) -> None:
        """A condition that changed, said as the conjuncts that came and went when the rest stayed."""
        if old == new:
            return
        before = text.condition(old) if old is not None else None
        after = text.condition(new) if new is not None else None
        if old is None:
            self.add(
                kind, say(n_("{label} added: {condition}"), label=label, condition=after or ""), step=step, after=after
            )
            return
        if new is None:
            message = say(n_("{label} removed (was {condition})"), label=label, condition=before or "")
            self.add(kind, message, step=step, before=before)
            return
        old_parts, new_parts = text.conjuncts(old), text.conjuncts(new)
        common = [c for c in old_parts if c in new_parts]
        dropped = [text.condition(c) for c in old_parts if c not in new_parts]
        added = [text.condition(c) for c in new_parts if c not in old_parts]
        if common and len(dropped) == 1 and len(added) == 1:
            message = say(
                n_("{label}: {before} → {after} (the other conditions unchanged)"),
                label=label,
                before=dropped[0],
                after=added[0],
            )
        elif common and added and dropped:
            message = say(
                n_("{label}: adds {added}; drops {dropped}"),
                label=label,
                added=joined([Code(a) for a in added]),
                dropped=joined([Code(d) for d in dropped]),
            )
        elif common and added:
            message = say(n_("{label}: adds {added}"), label=label, added=joined([Code(a) for a in added]))
        elif common and dropped:
            message = say(n_("{label}: drops {dropped}"), label=label, dropped=joined([Code(d) for d in dropped]))
        elif common:
            message = say(
                n_("{label}: same conditions in a different order: {condition}"), label=label, condition=after or ""
            )
        else:
            message = (*label, ": ", Code(before or ""), " → ", Code(after or ""))
        self.add(kind, message, step=step, before=before, after=after)

    def value(self, kind: str, label: Message, old: Any, new: Any, show: Any = str, step: str | None = None) -> None:
        """A plain value that changed: ``label old → new``."""
        if old == new:
            return
        before, after = show(old), show(new)
        self.add(kind, (*label, " ", Code(before), " → ", Code(after)), step=step, before=before, after=after)

    def types(self, noun: str, old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> None:
        """Names with types (template params, schema attributes, event properties): added, removed, retyped.
        ``noun`` is English, marked with ``n_()`` by the caller (the record's kind is made of it)."""
        kind = noun.replace(" ", "_")
        said: Message = (lookup(noun),)
        for name in sorted(set(old) | set(new)):
            if name not in new:
                message = say(
                    n_("{noun} {name} ({type}) removed"), noun=said, name=prefix + name, type=(str(old[name]),)
                )
                self.add(f"{kind}_removed", message, before=old[name])
            elif name not in old:
                message = say(n_("{noun} {name} ({type}) added"), noun=said, name=prefix + name, type=(str(new[name]),))
                self.add(f"{kind}_added", message, after=new[name])
            else:
                label = say(n_("{noun} {name} type"), noun=said, name=prefix + name)
                self.value(f"{kind}_type", label, old[name], new[name], str)

    def generic(self, key: str, old: Any, new: Any, step: str | None = None) -> None:
        """A field the diff does not describe in words: shown as JSON, so no difference is ever dropped."""
        if old == new:
            return
        before, after = _compact(old), _compact(new)
        prefix: tuple[str, ...] = (Code(step), ": ") if step else ()
        message = (*prefix, *say(n_("{field} changed: {before} → {after}"), field=key, before=before, after=after))
        self.add("other", message, step=step, before=old, after=new)


def joined(parts: list[str]) -> tuple[str, ...]:
    """Pieces separated by commas, keeping each piece (and its Code-ness) as it is."""
    out: list[str] = []
    for index, part in enumerate(parts):
        if index:
            out.append(", ")
        out.append(part)
    return tuple(out)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))
