"""``ecrm fmt`` for the text syntax: the canonical printer's layout, with every comment put back.

Attachment rules (a comment goes with the code it was written next to, wherever the printer moves that code):

- an end-of-line comment stays at the end of the printed line that begins at its source line;
- a comment inside a construct printed whole on one line (a send split over several lines) goes just above it;
- any other comment goes just above the first printed line whose construct starts at or after it, indented
  like that line: before a step, a scenario item, or a closing brace (then indented as the block's content);
- comments after the last scenario stay at the end of the file.

Blank lines: where the author left one or more before a line or a comment, one is kept (black-style), but
never at the start of a block or before a closing brace; none are added beyond the printer's own separators.
"""

from __future__ import annotations

import bisect
from collections import defaultdict

from ecrm_dsl.format.comment import Comment
from ecrm_dsl.format.text_scan import scan_text
from ecrm_dsl.language.diagnostics import DiagnosticError, Severity
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.text_printer import INDENT, Line, print_lines


def format_text(text: str, file: str) -> str:
    """The canonical form of a ``.ecrm`` file; :class:`DiagnosticError` if it does not parse cleanly."""
    items, findings = parse_text(text, file)
    errors = [d for d in findings if d.effective_severity == Severity.ERROR]
    if errors:  # e.g. a malformed duration: the AST holds a stand-in value that must not be printed
        raise DiagnosticError(errors)
    comments, positions = scan_text(text)
    return weave(print_lines(items, positions), comments, text.split("\n"))


class _Placement:
    """Where each comment goes: before a printed line, at its end, or at the end of the file."""

    def __init__(self, lines: list[Line]):
        self.before: dict[int, list[Comment]] = defaultdict(list)
        self.after: dict[int, Comment] = {}
        self.tail: list[Comment] = []
        numbered = sorted((line.start, index) for index, line in enumerate(lines) if line.start)
        self.starts = [start for start, _ in numbered]
        self.indexes = [index for _, index in numbered]  # for equal starts, in print order
        # constructs printed whole on one line but written over several
        self.whole = [(line.start, line.end, i) for i, line in enumerate(lines) if line.end > line.start]

    def place(self, comment: Comment) -> None:
        at = bisect.bisect_left(self.starts, comment.line)  # the first printed line starting at or after it
        if not comment.own_line:
            for position in range(at, bisect.bisect_right(self.starts, comment.line)):
                if self.indexes[position] not in self.after:
                    self.after[self.indexes[position]] = comment
                    return
        inside = [(start, i) for start, end, i in self.whole if start < comment.line <= end]
        if inside:
            self.before[max(inside)[1]].append(comment)
        elif at < len(self.starts):
            self.before[self.indexes[at]].append(comment)
        else:
            self.tail.append(comment)


def weave(lines: list[Line], comments: list[Comment], source: list[str]) -> str:
    placement = _Placement(lines)
    for comment in comments:
        placement.place(comment)
    out = _Output(source)
    for index, line in enumerate(lines):
        depth = line.depth + (1 if line.closes else 0)
        group = sorted(placement.before[index], key=lambda c: (c.line, c.column))
        above = [c for c in group if c.line < line.start]
        for comment in above:
            out.add(INDENT * depth + comment.text, comment.line, spaced=True)
        if not line.text:
            out.separator()
            continue
        # comments from inside the construct come right above it, after the blank line that precedes it
        spaced = not line.closes
        for comment in group[len(above) :]:
            out.add(INDENT * depth + comment.text, line.start, spaced=spaced)
            spaced = False
        trailing = placement.after.get(index)
        text = line.text + (f"  {trailing.text}" if trailing else "")
        out.add(text, line.start, spaced=spaced, opens=line.text.endswith("{"))
    for comment in placement.tail:
        out.add(comment.text, comment.line, spaced=True)
    return out.text()


class _Output:
    """Collects output lines and decides where the author's blank lines survive."""

    def __init__(self, source: list[str]):
        self.source = source
        self.lines: list[str] = []
        self.opened = False  # the last line opened a block: no blank line right after it

    def _blank_above(self, line: int) -> bool:
        return line >= 2 and not self.source[line - 2].strip()

    def add(self, text: str, source_line: int, *, spaced: bool, opens: bool = False) -> None:
        if spaced and source_line and self._blank_above(source_line) and self.lines and self.lines[-1]:
            if not self.opened:
                self.lines.append("")
        self.lines.append(text)
        self.opened = opens

    def separator(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")
        self.opened = False

    def text(self) -> str:
        return "\n".join(self.lines) + "\n" if self.lines else ""
