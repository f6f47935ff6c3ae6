"""Quick fixes: one per finding that carries a :class:`~ecrm_dsl.language.diagnostics.Fix`, applied as a
workspace edit the editor may apply without asking (``isPreferred``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lsprotocol import types

from ecrm_dsl.language.diagnostics import Fix


@dataclass(frozen=True)
class Fixable:
    """A published diagnostic and the fix its finding carries."""

    diagnostic: types.Diagnostic
    fix: Fix


def _same(a: types.Diagnostic, b: types.Diagnostic) -> bool:
    return a.range == b.range and a.code == b.code and a.message == b.message


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


def quick_fixes(
    fixable: Sequence[Fixable],
    params: types.CodeActionParams,
    edit_for: Callable[[Fix], types.WorkspaceEdit | None],
) -> list[types.CodeAction]:
    """The fixes for the diagnostics the editor asks about (or, when it names none, those in the range)."""
    only = params.context.only
    if only is not None and not any(str(kind).startswith(types.CodeActionKind.QuickFix) for kind in only):
        return []
    asked = params.context.diagnostics
    if asked:
        chosen = [f for f in fixable if any(_same(f.diagnostic, d) for d in asked)]
    else:
        chosen = [f for f in fixable if _overlaps(f.diagnostic.range, params.range)]
    actions = []
    for item in chosen:
        edit = edit_for(item.fix)
        if edit is None:
            continue
        actions.append(
            types.CodeAction(
                title=item.fix.title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[item.diagnostic],
                is_preferred=True,
                edit=edit,
            )
        )
    return actions
