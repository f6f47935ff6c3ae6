"""``ecrm fmt`` for YAML: canonical layout through PyYAML's own node graph, with every comment put back.

PyYAML is the parser ecrm reads these files with (YAML 1.1), so composing and serialising its nodes keeps the
data exactly: a value is quoted when, and only when, YAML 1.1 (or a YAML 1.2 editor) would read it as
something other than the same string, and tags never change. PyYAML does not keep comments; they are found from
its token stream (:mod:`yaml_scan`), attached to entries (:mod:`yaml_entries`) and woven back into the printed
text by the position of each entry in the output.

Layout: mappings indented by 2, sequences' ``-`` indented by 2 under their key, keys in schema order, flow
(``{...}``/``[...]``) or block as the author wrote each collection (a flow collection holding a comment becomes
block), no line wrapping, Japanese as is, block scalars (``|``, ``>``) copied line for line, re-indented.
"""

from __future__ import annotations

import yaml
from yaml.nodes import Node

from ecrm_dsl.format.comment import Comment
from ecrm_dsl.format.yaml_canonical import INDENT, WIDTH, Canonical, Dumper
from ecrm_dsl.format.yaml_entries import attach, build_document, flow_holding_comments
from ecrm_dsl.format.yaml_scan import LOADER, YamlScan, scan_yaml
from ecrm_dsl.format.yaml_weave import Weaver
from ecrm_dsl.syntax.yaml_source import load_yaml


def format_yaml(text: str, file: str) -> str:
    """The canonical form of a YAML file; :class:`DiagnosticError` (positioned) if it does not load."""
    load_yaml(text, file)  # the same checks as every other command: syntax, aliases, tags, duplicate keys
    scan = scan_yaml(text)
    roots = [root for root in yaml.compose_all(text, Loader=LOADER) if root is not None]
    if not roots:
        return _only_comments(scan.comments, text.split("\n"))
    spacing = text.split("\n")  # the source lines, consulted only for where blank lines were
    prefix, regions, explicit = _regions(roots, scan)
    documents = []
    for root, comments in zip(roots, regions, strict=True):
        unfolded = frozenset(flow_holding_comments(root, comments))
        document = build_document(root, scan, unfolded)
        attach(document, comments)
        documents.append((document, unfolded))
    canon = Canonical(text, scan)
    for document, unfolded in documents:
        canon.run(document.root, unfolded)
    printed = yaml.serialize_all(
        roots, Dumper=Dumper, allow_unicode=True, width=WIDTH, indent=INDENT, explicit_start=explicit
    )
    return Weaver(printed, canon, spacing).weave(prefix, [d for d, _ in documents])


def _regions(roots: list[Node], scan: YamlScan) -> tuple[list[Comment], list[list[Comment]], bool]:
    """Comments before the first explicit '---', each document's comments, and whether the first has '---'."""
    markers = []
    for index, root in enumerate(roots):
        low = roots[index - 1].start_mark.line if index else -1
        found = [m for m in scan.document_starts if low < m <= root.start_mark.line]
        markers.append(found[-1] if found else (root.start_mark.line if index else -1))
    explicit = markers[0] >= 0
    prefix = [c for c in scan.comments if c.line - 1 < markers[0]]
    regions: list[list[Comment]] = [[] for _ in roots]
    for comment in scan.comments:
        if comment.line - 1 < markers[0]:
            continue
        index = max(i for i, m in enumerate(markers) if m <= comment.line - 1 or i == 0)
        regions[index].append(comment)
    return prefix, regions, explicit


def _only_comments(comments: list[Comment], source: list[str]) -> str:
    out: list[str] = []
    for comment in comments:
        if out and comment.line >= 2 and not source[comment.line - 2].strip():
            out.append("")
        out.append(comment.text)
    return "\n".join(out) + "\n" if out else ""
