"""The places in a YAML document that comments attach to: mapping entries and sequence items.

Attachment rules:

- an end-of-line comment stays with the innermost entry that starts on its line (or, on the last line of a
  value written over several lines, with that value's entry);
- a comment on its own line goes before the next entry of its document, unless it is indented deeper than that
  entry and comes after the last entry of a block indented at most as deeply as the comment: then it stays at
  the end of that block (``# end of the steps`` under the last step);
- comments before a document's first entry are the document's header: they stay at its top whatever key
  comes first; comments before a document's explicit ``---`` end the previous document (or open the file).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from yaml.nodes import CollectionNode, MappingNode, Node, SequenceNode

from ecrm_dsl.format.comment import Comment
from ecrm_dsl.format.yaml_scan import YamlScan


@dataclass(eq=False)
class Entry:
    """A mapping key with its value, or a sequence item; ``path`` is the child positions from the root."""

    path: tuple[int, ...]
    anchor: Node  # the key node, or the item node: stays the same object when keys are reordered
    line: int  # 0-based line of the key, or of the item's dash
    column: int  # 0-based column of the key or dash
    value: Node
    block: Block  # the collection that holds it
    in_flow: bool  # inside a flow collection ({...} or [...]), where a comment cannot go
    leading: list[Comment] = field(default_factory=list)
    trailing: Comment | None = None


@dataclass(eq=False)
class Block:
    """A mapping or sequence node and its entries, in document order."""

    node: Node
    owner: Entry | None
    entries: list[Entry] = field(default_factory=list)
    end_comments: list[Comment] = field(default_factory=list)

    @property
    def column(self) -> int:
        return self.entries[0].column if self.entries else self.node.start_mark.column

    def contains(self, entry: Entry) -> bool:
        block: Block | None = entry.block
        while block is not None:
            if block is self:
                return True
            block = block.owner.block if block.owner else None
        return False


@dataclass(eq=False)
class Document:
    root: Node
    blocks: list[Block]  # every collection, root first
    entries: list[Entry]  # every entry, in document order
    header: list[Comment] = field(default_factory=list)  # comments above its first entry (or of a document without)

    @property
    def root_block(self) -> Block | None:
        return self.blocks[0] if self.blocks else None


def build_document(root: Node, scan: YamlScan, unfolded: frozenset[int] = frozenset()) -> Document:
    """The entries of a document; ``unfolded`` are ids of flow collections that will be printed as blocks."""
    document = Document(root, [], [])
    if isinstance(root, (MappingNode, SequenceNode)):
        _Visitor(scan, unfolded, document).visit(root, (), None, False)
    return document


class _Visitor:
    def __init__(self, scan: YamlScan, unfolded: frozenset[int], document: Document):
        self.scan, self.unfolded, self.document = scan, unfolded, document

    def visit(self, node: CollectionNode, path: tuple[int, ...], owner: Entry | None, in_flow: bool) -> None:
        block = Block(node, owner)
        self.document.blocks.append(block)
        stays_flow = in_flow or (bool(node.flow_style) and id(node) not in self.unfolded)
        pairs: list[tuple[Node, Node]] = (
            list(node.value) if isinstance(node, MappingNode) else [(item, item) for item in node.value]
        )
        for index, (start, value) in enumerate(pairs):
            line, column = start.start_mark.line, start.start_mark.column
            if isinstance(node, SequenceNode) and not node.flow_style:
                line, column = self.scan.dash_before(value.start_mark.index) or (line, column)
            entry = Entry((*path, index), start, line, column, value, block, stays_flow)
            block.entries.append(entry)
            self.document.entries.append(entry)
            if isinstance(value, (MappingNode, SequenceNode)):
                self.visit(value, (*path, index), entry, stays_flow)


def attach(document: Document, comments: list[Comment]) -> None:
    """Give each comment (1-based positions, all within this document) its entry or block."""
    targets = [e for e in document.entries if not e.in_flow]
    lines = [e.line for e in targets]  # ascending: entries are in document order
    first = lines[0] if lines else -1
    document.header = [c for c in comments if c.own_line and c.line - 1 < first]
    spanning = [e for e in targets if _spans_lines(e)]
    header = set(document.header)
    for comment in comments:
        if comment in header:
            continue
        line = comment.line - 1
        if not comment.own_line:
            # the innermost entry starting on the line, else one whose value runs onto it ({...} over lines)
            here = targets[bisect.bisect_left(lines, line) : bisect.bisect_right(lines, line)]
            here = here or [e for e in spanning if e.line < line <= e.value.end_mark.line]
            if here and here[-1].trailing is None:
                here[-1].trailing = comment
                continue
        after = bisect.bisect_right(lines, line)
        following = targets[after] if after < len(targets) else None
        before = bisect.bisect_left(lines, line)
        _place(document, comment, following, targets[before - 1].block if before else None)


def _place(document: Document, comment: Comment, following: Entry | None, block: Block | None) -> None:
    column = comment.column - 1
    # Walk out from the block of the previous entry while the next entry is not in it: a comment indented at
    # least as deeply as such a block's entries closes that block.
    while block is not None and not (following is not None and block.contains(following)):
        if block.column <= column:
            block.end_comments.append(comment)
            return
        block = block.owner.block if block.owner else None
    if following is not None:
        following.leading.append(comment)
    elif document.root_block is not None:
        document.root_block.end_comments.append(comment)
    else:
        document.header.append(comment)


def _spans_lines(entry: Entry) -> bool:
    """A scalar or flow value that ends on a later line than its entry starts (a block's lines start entries)."""
    value = entry.value
    block = isinstance(value, (MappingNode, SequenceNode)) and not value.flow_style
    return not block and value.end_mark.line > entry.line


def flow_holding_comments(root: Node, comments: list[Comment]) -> set[int]:
    """ids of flow collections with a comment inside: they must become block style to keep it."""
    places = sorted((c.line - 1, c.column - 1) for c in comments)
    found: set[int] = set()

    def holds_comment(node: Node) -> bool:
        start, end = node.start_mark, node.end_mark
        at = bisect.bisect_right(places, (start.line, start.column))
        return at < len(places) and places[at] < (end.line, end.column)

    def visit(node: Node, flow_parents: list[Node]) -> None:
        if not isinstance(node, CollectionNode):
            return
        chain = [*flow_parents, node] if node.flow_style else []
        if node.flow_style and holds_comment(node):
            found.update(id(n) for n in chain)
        children = [n for pair in node.value for n in pair] if isinstance(node, MappingNode) else list(node.value)
        for child in children:
            visit(child, chain)

    visit(root, [])
    return found
