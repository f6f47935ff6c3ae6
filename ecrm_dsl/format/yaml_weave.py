"""Weaving comments and the author's blank lines back into the YAML that PyYAML printed.

The printed text is composed again to find the line of every entry; each source entry's comments go to the
line of the entry with the same canonical path. Block scalars, printed as placeholders, are expanded here.
"""

from __future__ import annotations

from collections import defaultdict

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ecrm_dsl.format.comment import Comment
from ecrm_dsl.format.yaml_canonical import INDENT, Canonical
from ecrm_dsl.format.yaml_entries import Document, Entry, build_document
from ecrm_dsl.format.yaml_scan import LOADER, scan_yaml


class Weaver:
    """Puts comments and the author's blank lines back into the printed YAML, and expands block scalars."""

    def __init__(self, printed: str, canon: Canonical, source: list[str]):
        self.lines = printed.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.canon, self.source = canon, list(source)
        scan = scan_yaml(printed)
        roots = [r for r in yaml.compose_all(printed, Loader=LOADER) if r is not None]
        self.printed = [build_document(root, scan) for root in roots]
        # the column of the key or dash that holds each block scalar: its content goes 2 deeper
        self.owners = {
            e.value.value: e.column
            for d in self.printed
            for e in d.entries
            if isinstance(e.value, ScalarNode) and e.value.value in canon.blocks
        }
        self.before: dict[int, list[tuple[Comment, int]]] = defaultdict(list)
        self.after: dict[int, list[tuple[Comment, int]]] = defaultdict(list)
        self.eol: dict[int, Comment] = {}
        self.spaced: dict[int, bool] = {}  # printed line -> its outermost entry had a blank line above it
        self.first: dict[int, bool] = {}  # printed line -> its outermost entry is the first of its block
        self.origin: dict[int, int] = {}  # printed line -> source line of its outermost entry
        self.header_spaced: dict[int, bool] = {}  # a document's first line -> a blank line under its header

    def weave(self, prefix: list[Comment], documents: list[Document]) -> str:
        """``prefix``: the comments before the file's first '---'."""
        out = _Lines()
        for comment in prefix:
            out.add(comment.text, self._blank_above(comment.line - 1))
        for document, printed in zip(documents, self.printed, strict=True):
            self._header(document, printed)
            self._place(document, printed)
        return self._emit(out)

    def _header(self, document: Document, printed: Document) -> None:
        """A document's header comments open it, with the blank line under them if there was one; that blank line
        is the header's, so it does not travel with the key that came first."""
        if not document.header:
            return
        top = printed.root.start_mark.line
        self.before[top].extend((c, 0) for c in document.header)
        below = document.header[-1].line  # the 0-based line under the header
        self.header_spaced[top] = below < len(self.source) and not self.source[below].strip()
        while below < len(self.source) and not self.source[below].strip():
            self.source[below] = "#"
            below += 1

    def _blank_above(self, line: int) -> bool:  # 0-based source line
        return line >= 1 and not self.source[line - 1].strip()

    def _place(self, document: Document, printed: Document) -> None:
        entries = {e.path: e for e in printed.entries}
        outermost: dict[int, Entry] = {}
        for entry in printed.entries:
            outermost.setdefault(entry.line, entry)
        blocks = {(b.owner.path if b.owner else ()): b for b in printed.blocks}
        for entry in document.entries:
            target = entries[self.canon.path_of[id(entry.anchor)]]
            line = target.line
            column = outermost[line].column
            self.before[line].extend((c, column) for c in entry.leading)
            if entry.trailing is not None:
                if line in self.eol:
                    self.before[line].append((entry.trailing, column))
                else:
                    self.eol[line] = entry.trailing
            if outermost[line] is target:
                self.origin[line] = entry.line
                self.spaced[line] = self._blank_above(entry.line)
                self.first[line] = target.block.entries[0] is target
        for block in document.blocks:
            if block.end_comments:
                path = self.canon.path_of[id(block.owner.anchor)] if block.owner else ()
                out = blocks[path]
                self.after[_last_line(out.node)].extend((c, out.column) for c in block.end_comments)

    def _emit(self, out: _Lines) -> str:
        for number, line in enumerate(self.lines):
            group = sorted(self.before[number], key=lambda item: (item[0].line, item[0].column))
            origin = self.origin.get(number, len(self.source))
            above = [item for item in group if item[0].line - 1 < origin]
            first = self.first.get(number, False)
            for k, (comment, column) in enumerate(above):
                spaced = self._blank_above(comment.line - 1) and not (k == 0 and first)
                out.add(" " * column + comment.text, spaced)
            spaced = self.spaced.get(number, False) and not (first and not above)
            spaced = self.header_spaced.get(number, spaced)
            for comment, column in group[len(above) :]:  # moved up from the entry's own line
                out.add(" " * column + comment.text, spaced)
                spaced = False
            expanded, keep = self._expand(line)
            trailing = self.eol.get(number)
            if trailing is not None:
                expanded[0] += "  " + trailing.text
            out.add(expanded[0], spaced)
            out.extend(expanded[1:], keep)
            for comment, column in sorted(self.after[number], key=lambda item: (item[0].line, item[0].column)):
                out.add(" " * column + comment.text, self._blank_above(comment.line - 1))
        return out.text()

    def _expand(self, line: str) -> tuple[list[str], bool]:
        """The printed line, or a block scalar's header and body in place of its placeholder (which ends it)."""
        placeholder = line.rsplit(" ", 1)[-1]
        block = self.canon.blocks.get(placeholder)
        if block is None or placeholder not in self.owners:
            return [line], False
        indent = " " * (self.owners[placeholder] + INDENT)
        body = [indent + text if text else "" for text in block.body]
        return [line[: len(line) - len(placeholder)] + block.header, *body], block.keep


def _last_line(node: Node) -> int:
    """The last printed line of a node's content (0-based)."""
    if isinstance(node, MappingNode) and not node.flow_style and node.value:
        return max(_last_line(node.value[-1][0]), _last_line(node.value[-1][1]))
    if isinstance(node, SequenceNode) and not node.flow_style and node.value:
        return _last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


class _Lines:
    """Output lines: at most one blank line in a row, none at the start or after '---'."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.hold = False  # no blank line next: after a keep-chomped block scalar it would join its value

    def add(self, text: str, spaced: bool) -> None:
        if spaced and not self.hold and self.lines and self.lines[-1] not in ("", "---"):
            self.lines.append("")
        self.lines.append(text)
        self.hold = False

    def extend(self, texts: list[str], keep: bool) -> None:
        self.lines.extend(texts)
        self.hold = keep or self.hold

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""
