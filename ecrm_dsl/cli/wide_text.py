"""Help text wrapped by what a terminal shows: a Japanese character takes two columns, and a line may break
between two of them (but not before 、。」 and the like, nor after 「（) — click's wrapper counts characters and
breaks only at spaces, so Japanese help ran far past the terminal's edge."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import click

# Kinsoku: what may not start a line, and what may not end one.
_NO_START = set("、。，．・：；？！ー）」』】〉》〕’”…‥ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮ々")
_NO_END = set("（「『【〈《〔‘“")
_TOKENS = re.compile(r"\s+|[\x00-\x7f]+?(?=\s|$|[^\x00-\x7f])|.", re.S)


def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _units(text: str) -> list[str]:
    """Pieces a line may break between: runs of ASCII (words), spaces, and single wide characters, with
    kinsoku characters glued to their neighbour."""
    units: list[str] = []
    for piece in _TOKENS.findall(text):
        if units and (piece[0] in _NO_START or units[-1][-1] in _NO_END) and not piece.isspace():
            units[-1] += piece
        else:
            units.append(piece)
    return units


def wrap(text: str, columns: int, initial: str = "", subsequent: str = "") -> list[str]:
    """One paragraph's lines, each at most ``columns`` wide where the pieces allow it."""
    lines: list[str] = []
    line, used = initial, width(initial)
    fresh = True  # nothing but the indent on this line yet
    for unit in _units(" ".join(text.split())):
        if unit.isspace():
            if not fresh:
                line, used = line + " ", used + 1
            continue
        size = width(unit)
        if not fresh and used + size > columns:
            lines.append(line.rstrip())
            line, used = subsequent, width(subsequent)
        line, used, fresh = line + unit, used + size, False
    lines.append(line.rstrip())
    return lines


def fill(text: str, columns: int, indent: str = "") -> str:
    """``text`` (paragraphs separated by blank lines; a ``\\b`` paragraph kept as written) wrapped to ``columns``."""
    out = []
    for paragraph in text.split("\n\n"):
        if paragraph.startswith("\b"):
            out.append("\n".join(indent + line for line in paragraph.splitlines()[1:]))
        else:
            out.append("\n".join(wrap(paragraph, columns, indent, indent)))
    return "\n\n".join(out)


class WideTextFormatter(click.HelpFormatter):
    """click's help layout, with paragraphs and option descriptions wrapped by display width."""

    def write_text(self, text: str) -> None:
        self.write(fill(text, self.width, " " * self.current_indent))
        self.write("\n")

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first_col = min(max((width(first) for first, _ in rows), default=0), col_max) + col_spacing
        for first, second in rows:
            self.write(f"{'':>{self.current_indent}}{first}")
            if not second:
                self.write("\n")
                continue
            if width(first) <= first_col - col_spacing:
                self.write(" " * (first_col - width(first)))
            else:
                self.write("\n" + " " * (first_col + self.current_indent))
            lines = fill(second, max(self.width - first_col - 2, 10)).splitlines() or [""]
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{'':>{first_col + self.current_indent}}{line}\n" if line else "\n")


class WideTextContext(click.Context):
    formatter_class = WideTextFormatter
