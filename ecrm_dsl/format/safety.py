"""The formatter's promise, checked on every file before it is written: the same meaning, every comment kept,
and a stable result (formatting the output again changes nothing).

Meaning is judged by ecrm's own front ends: scenarios must build equal ASTs (spans do not take part in AST
equality) and every YAML document must load to equal data, types included (``1``, ``1.0``, ``true`` and
``"1"`` all differ).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ecrm_dsl.format.text_scan import scan_text
from ecrm_dsl.format.yaml_order import document_kind
from ecrm_dsl.format.yaml_scan import scan_yaml
from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios
from ecrm_dsl.syntax.yaml_source import load_yaml


class UnsafeFormat(Exception):
    """The formatted text failed a check; the file must be left as it is."""


def check(original: str, formatted: str, suffix: str, file: str) -> None:
    """Raise :class:`UnsafeFormat` unless ``formatted`` means exactly what ``original`` does, with its comments."""
    try:
        if suffix == ".ecrm":
            _same_scenarios(parse_text(original, file)[0], parse_text(formatted, file)[0])
            before, after = scan_text(original)[0], scan_text(formatted)[0]
        else:
            _same_yaml(original, formatted, file)
            old, new = scan_yaml(original), scan_yaml(formatted)
            before, after = [*old.comments, *old.header_comments], [*new.comments, *new.header_comments]
    except DiagnosticError as exc:
        raise UnsafeFormat(tr("the formatted text does not parse: {problem}", problem=exc)) from None
    lost = Counter(c.text for c in before) - Counter(c.text for c in after)
    if lost:
        raise UnsafeFormat(tr("a comment would be lost: {comment}", comment=next(iter(lost))))
    added = Counter(c.text for c in after) - Counter(c.text for c in before)
    if added:
        raise UnsafeFormat(tr("a comment would be added: {comment}", comment=next(iter(added))))


def _same_scenarios(before: list[Any], after: list[Any]) -> None:
    if before != after:
        ids = [getattr(item, "id", "?") for item in before]
        listed = ", ".join(ids) if ids else tr("none")
        raise UnsafeFormat(tr("the formatted scenarios would differ from the original ({ids})", ids=listed))


def _same_yaml(original: str, formatted: str, file: str) -> None:
    before, after = load_yaml(original, file), load_yaml(formatted, file)
    if len(before) != len(after):
        raise UnsafeFormat(
            tr(
                "the formatted file has {after} YAML documents instead of {before}",
                after=len(after),
                before=len(before),
            )
        )
    for index, (old, new) in enumerate(zip(before, after, strict=True), start=1):
        where = same_data(old.data, new.data)
        if where is not None:
            raise UnsafeFormat(tr("document {index}: the value at '{where}' would change", index=index, where=where))
    if any(isinstance(d.data, dict) and document_kind(list(d.data)) == "scenario" for d in before):
        _same_scenarios(parse_yaml_scenarios(original, file)[0], parse_yaml_scenarios(formatted, file)[0])


def same_data(old: Any, new: Any, path: str = "") -> str | None:
    """None when equal (types included, key order ignored), else the first path that differs."""
    if type(old) is not type(new):
        return path or "/"
    if isinstance(old, dict):
        if {(type(k), k) for k in old} != {(type(k), k) for k in new}:
            return path or "/"
        for key in old:
            found = same_data(old[key], new[key], f"{path}/{key}")
            if found is not None:
                return found
        return None
    if isinstance(old, list):
        if len(old) != len(new):
            return path or "/"
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            found = same_data(a, b, f"{path}/{index}")
            if found is not None:
                return found
        return None
    return None if old == new or (old != old and new != new) else (path or "/")  # NaN equals NaN here
