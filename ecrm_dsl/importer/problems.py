"""What is wrong with an input file: one problem per bad cell or row, with the CSV line it starts on.

Problems are collected, never raised, so one run reports every bad row; only the first ``limit`` are kept for
printing, the rest are counted.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from ecrm_dsl.language.i18n import tr, trn


@dataclass(frozen=True, slots=True)
class Problem:
    line: int  # 1-based physical line of the CSV record (the header is line 1)
    message: str
    hint: str | None = None
    column: str | None = None  # how the column is shown: 'header' or 'header' (store name)

    def format(self, file: str) -> str:
        where = f"{file}:{self.line}: "
        message = (
            tr("column {column}: {message}", column=self.column, message=self.message) if self.column else self.message
        )
        hint = f" — {self.hint}" if self.hint else ""
        return f"{where}{message}{hint}"


@dataclass
class Problems:
    """Every problem of one import; the first ``limit`` are kept for the report."""

    limit: int = 100
    shown: list[Problem] = field(default_factory=list)
    total: int = 0
    bad_lines: set[int] = field(default_factory=set)

    def add(self, problem: Problem) -> None:
        self.total += 1
        self.bad_lines.add(problem.line)
        if len(self.shown) < self.limit:
            self.shown.append(problem)

    def __bool__(self) -> bool:
        return self.total > 0

    def report(self, file: str) -> list[str]:
        """The report lines: the kept problems in line order, then how many more there were."""
        lines = [p.format(file) for p in sorted(self.shown, key=lambda p: p.line)]
        hidden = self.total - len(self.shown)
        if hidden:
            lines.append(
                trn(
                    "… and {hidden} more problem (first {limit} shown)",
                    "… and {hidden} more problems (first {limit} shown)",
                    hidden,
                    hidden=hidden,
                    limit=self.limit,
                )
            )
        return lines


class InputError(Exception):
    """The file cannot be read on from ``line``: an encoding error, malformed CSV, no header."""

    def __init__(self, line: int, message: str, hint: str | None = None):
        super().__init__(message)
        self.problem = Problem(line, message, hint)


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return tr("did you mean '{value}'?", value=close[0]) if close else None
