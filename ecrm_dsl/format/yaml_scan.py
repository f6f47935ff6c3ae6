"""What PyYAML's node graph leaves out of a YAML file: comments, sequence dashes, block scalar headers.

Comments are found from PyYAML's own token stream: every character of a key, value or indicator lies inside a
token, so a ``#`` between two tokens can only start a comment (one inside a quoted string, a block scalar or a
plain scalar such as ``url#frag`` is inside a token). A block scalar's header comment (``body: |  # note``) lies
inside its token; it is kept as part of the header.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import yaml

from ecrm_dsl.format.comment import Comment

# libyaml when available (as ecrm's own loader uses): its marks count characters, like the Python scanner's.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class YamlScan:
    comments: list[Comment] = field(default_factory=list)
    dashes: list[int] = field(default_factory=list)  # character index of every block sequence '-', ascending
    dash_places: dict[int, tuple[int, int]] = field(default_factory=dict)  # index -> (line, column), 0-based
    document_starts: list[int] = field(default_factory=list)  # 0-based lines of explicit '---'
    block_headers: dict[int, str] = field(default_factory=dict)  # block scalar start index -> "|-  # note"
    header_comments: list[Comment] = field(default_factory=list)  # the "# note" of those headers

    def dash_before(self, index: int) -> tuple[int, int] | None:
        """The (line, column) of the last block-sequence dash before character ``index``."""
        at = bisect.bisect_left(self.dashes, index)
        return self.dash_places[self.dashes[at - 1]] if at else None


def scan_yaml(text: str) -> YamlScan:
    """Scan a YAML stream that ``load_yaml`` accepts."""
    scan = YamlScan()
    lines = _Lines(text)
    position = 0
    for token in yaml.scan(text, Loader=LOADER):
        start, end = token.start_mark.index, token.end_mark.index
        if start > position:
            scan.comments.extend(_gap_comments(text, lines, position, start))
        position = max(position, end)
        if isinstance(token, yaml.BlockEntryToken):
            scan.dashes.append(start)
            scan.dash_places[start] = (token.start_mark.line, token.start_mark.column)
        elif isinstance(token, yaml.DocumentStartToken):
            scan.document_starts.append(token.start_mark.line)
        elif isinstance(token, yaml.ScalarToken) and token.style in ("|", ">"):
            line_end = text.find("\n", start)
            header = text[start : line_end if line_end >= 0 else len(text)].rstrip()
            scan.block_headers[start] = header
            if "#" in header:
                line, column = lines.place(start + header.index("#"))
                scan.header_comments.append(Comment(line + 1, column + 1, header[header.index("#") :], False))
    if position < len(text):
        scan.comments.extend(_gap_comments(text, lines, position, len(text)))
    return scan


class _Lines:
    """Line and column of a character index (0-based), by bisecting the line starts."""

    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def place(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, index) - 1
        return line, index - self.starts[line]


def _gap_comments(text: str, lines: _Lines, start: int, end: int) -> list[Comment]:
    found = []
    at = text.find("#", start, end)
    while at >= 0:
        line_end = text.find("\n", at, end)
        stop = line_end if line_end >= 0 else end
        line, column = lines.place(at)
        own_line = not text[lines.starts[line] : at].strip()
        found.append(Comment(line + 1, column + 1, text[at:stop].rstrip(), own_line))
        at = text.find("#", stop, end) if line_end >= 0 else -1
    return found
