"""Comments and positions of a ``.ecrm`` file that the AST does not keep.

The grammar ``%ignore``s comments, but a Lark lexer callback still sees every COMMENT token, so a second parser
built from the same grammar file collects them with their lines. Its parse tree also gives the source lines of
the items the AST stores as plain values (``kind``, ``owner``, ...) and of wait-for outcome blocks.
"""

from __future__ import annotations

import threading
from functools import lru_cache

from lark import Lark, Token, Tree

from ecrm_dsl.format.comment import Comment
from ecrm_dsl.syntax.text import build_parser
from ecrm_dsl.syntax.text_printer import SourcePositions


class _Collector:
    """The lexer callback; one parse at a time writes into ``found`` (the lock keeps threads apart)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.found: list[Token] = []

    def __call__(self, token: Token) -> Token:
        self.found.append(token)
        return token


_COLLECTOR = _Collector()


@lru_cache(maxsize=1)
def _parser() -> Lark:
    return build_parser(lexer_callbacks={"COMMENT": _COLLECTOR})


# Parse-tree rules of scenario items -> the field name the printer asks for.
_ITEMS = {
    "kind": "kind",
    "owner": "owner",
    "description": "description",
    "hypothesis": "hypothesis",
    "trigger": "trigger",
    "holdout": "holdout",
    "backfill": "backfill",
    "reentry_never": "reentry",
    "reentry_always": "reentry",
    "reentry_cooldown": "reentry",
    "goal": "goals",
    "stop_on": "exits",
    "stop_when": "exits",
}


def scan_text(text: str) -> tuple[list[Comment], SourcePositions]:
    """Comments and item positions of a file that ``parse_text`` accepts (call that first for its errors)."""
    with _COLLECTOR.lock:
        _COLLECTOR.found = []
        tree = _parser().parse(text, start="file")
        tokens, _COLLECTOR.found = _COLLECTOR.found, []
    lines = text.split("\n")
    comments = []
    for token in tokens:
        line, column = token.line or 1, token.column or 1
        comments.append(Comment(line, column, str(token).rstrip(), not lines[line - 1][: column - 1].strip()))
    return comments, _positions(tree)


def _positions(tree: Tree) -> SourcePositions:
    positions = SourcePositions()
    for node in tree.iter_subtrees():
        key = (node.meta.line, node.meta.column) if not node.meta.empty else (0, 0)
        if node.data == "scenario":
            fields: dict[str, list[tuple[int, int]]] = {}
            for child in node.children:
                if isinstance(child, Tree) and child.data in _ITEMS:
                    fields.setdefault(_ITEMS[child.data], []).append((child.meta.line, child.meta.end_line))
            positions.items[key] = fields
        elif node.data == "wait_for":
            positions.blocks[key] = {
                str(child.data): (child.meta.line, child.meta.end_line)
                for child in node.children
                if isinstance(child, Tree) and child.data in ("on_event", "on_timeout")
            }
    return positions
