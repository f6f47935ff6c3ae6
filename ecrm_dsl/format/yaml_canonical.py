"""Canonical order and style for YAML nodes, and the PyYAML dumper that prints them.

Composing and serialising PyYAML's nodes (the parser ecrm reads these files with, YAML 1.1) keeps the data
exactly: tags never change, and a value is quoted when, and only when, YAML 1.1 or a YAML 1.2 editor would read
it as something other than the same string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode

from ecrm_dsl.format.yaml_order import Shape, document_kind, ordered, root_shape
from ecrm_dsl.format.yaml_scan import YamlScan
from ecrm_dsl.syntax.yaml_style import INDENT, WIDTH, Dumper

__all__ = ["INDENT", "WIDTH", "BlockScalar", "Canonical", "Dumper"]

STR = "tag:yaml.org,2002:str"


@dataclass
class BlockScalar:
    """A ``|`` or ``>`` scalar copied from the source: its header (with any comment) and its body lines."""

    header: str
    body: list[str]
    keep: bool  # '+' chomping: the trailing empty lines are content


def _key(node: Node) -> str:
    return str(node.value) if isinstance(node, ScalarNode) else ""


class Canonical:
    """Puts a document's nodes in canonical order and style, in place (node identity is kept)."""

    def __init__(self, text: str, scan: YamlScan):
        self.text, self.scan = text, scan
        self.lines = text.split("\n")
        self.blocks: dict[str, BlockScalar] = {}
        self.path_of: dict[int, tuple[int, ...]] = {}  # id of an entry's key (or item) node -> canonical path

    def run(self, root: Node, unfolded: frozenset[int]) -> None:
        if isinstance(root, ScalarNode):  # not an ecrm file; PyYAML prints it (block style included)
            root.style = root.style if root.style in ("|", ">") else None
            return
        kind = document_kind([_key(k) for k, _ in root.value]) if isinstance(root, MappingNode) else ""
        self._node(root, root_shape(kind), unfolded, ())

    def _node(self, node: Node, shape: Shape, unfolded: frozenset[int], path: tuple[int, ...]) -> None:
        if not isinstance(node, CollectionNode):
            self._scalar(node)
            return
        if id(node) in unfolded:
            node.flow_style = False
        if isinstance(node, MappingNode):
            node.value = [node.value[i] for i in ordered(shape, [_key(k) for k, _ in node.value])]
            for index, (key, value) in enumerate(node.value):
                self.path_of[id(key)] = (*path, index)
                self._scalar(key, is_key=True)
                self._node(value, shape.child(_key(key)), unfolded, (*path, index))
        else:
            assert isinstance(node, SequenceNode)
            for index, item in enumerate(node.value):
                self.path_of[id(item)] = (*path, index)
                self._node(item, shape.item(), unfolded, (*path, index))

    def _scalar(self, node: Node, is_key: bool = False) -> None:
        if not isinstance(node, ScalarNode):
            return
        if node.tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and ":" in node.value:
            node.tag = STR  # ecrm reads YAML 1.1 base-60 (10:00) as the string "10:00": say so with quotes
        if node.style in ("|", ">") and not is_key:
            header = self.scan.block_headers.get(node.start_mark.index, "")
            if header and not re.match(r"^[|>][-+]?[1-9]", header):  # an explicit indent: let PyYAML print it
                self._copy_block(node, header)
                return
        if node.style in ("'", '"'):
            node.style = None

    def _copy_block(self, node: ScalarNode, header: str) -> None:
        lines = self.lines
        end = node.end_mark
        last = end.line if self.text[end.index - end.column : end.index].strip() else end.line - 1
        body = lines[node.start_mark.line + 1 : last + 1]
        keep = "+" in header.split("#", 1)[0]
        content = [line for line in body if line.strip()]
        indent = len(content[0]) - len(content[0].lstrip(" ")) if content else 0
        if not keep:
            while body and len(body[-1]) <= indent and not body[-1].strip():
                body.pop()
        placeholder = f"ecrm-fmt-block-{len(self.blocks)}"
        while placeholder in self.text:
            placeholder += "-"
        lines_out = [line[indent:] if len(line) > indent else "" for line in body]
        self.blocks[placeholder] = BlockScalar(re.sub(r"\s+#", "  #", header, count=1), lines_out, keep)
        node.tag, node.value, node.style = STR, placeholder, None
