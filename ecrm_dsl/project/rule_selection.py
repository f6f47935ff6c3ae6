"""Which rules a lint run reports: ``select`` / ``ignore`` by code prefix, ``per-file-ignores`` by glob.

Selectors are rule codes or prefixes of them (``E``, ``W5``, ``E204``), or ``ALL``. Where a select and an
ignore both match a code, the longer (more specific) one decides; on a tie, the command line beats the
configuration, and then ignore beats select. ``per-file-ignores`` always win. Findings that mean a file or
document was not loaded (:data:`ALWAYS_REPORTED`) can never be switched off: the plan would silently lose it.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ecrm_dsl.language.ast import Span
from ecrm_dsl.language.diagnostics import RULES, Diagnostic, DiagnosticError
from ecrm_dsl.language.i18n import tr

ALL = "ALL"
ALWAYS_REPORTED = frozenset({"E001", "E002", "E003", "E004", "E005", "E006", "E008", "E009", "E100"})
RULES_KEYS = ("select", "ignore", "per-file-ignores")


@dataclass(frozen=True)
class RuleSelection:
    """Rule selection from the configuration, with the command line's ``--select`` / ``--ignore`` on top."""

    select: tuple[str, ...] | None = None  # None: every rule
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    cli_select: tuple[str, ...] | None = None  # replaces ``select`` when given
    cli_ignore: tuple[str, ...] = ()

    def overridden(self, select: Iterable[str] | None, ignore: Iterable[str]) -> RuleSelection:
        """This selection with command-line selectors on top (``select`` replaces; ``ignore`` adds)."""
        return RuleSelection(
            self.select,
            self.ignore,
            self.per_file_ignores,
            tuple(select) if select is not None else self.cli_select,
            self.cli_ignore + tuple(ignore),
        )

    def enabled(self, code: str, file: str) -> bool:
        """Whether findings of ``code`` in ``file`` (a project-relative name) are reported."""
        if code in ALWAYS_REPORTED:
            return True
        for pattern, codes in self.per_file_ignores:
            if any(_prefix(code, c) for c in codes) and glob_match(pattern, file):
                return False
        if self.cli_select is not None:
            selects, select_layer = self.cli_select, 1
        else:
            selects, select_layer = (self.select if self.select is not None else (ALL,)), 0
        candidates = [(len(_norm(s)), select_layer, False) for s in selects if _prefix(code, s)]
        candidates += [(len(_norm(s)), 0, True) for s in self.ignore if _prefix(code, s)]
        candidates += [(len(_norm(s)), 1, True) for s in self.cli_ignore if _prefix(code, s)]
        return bool(candidates) and not max(candidates)[2]

    @property
    def ignored_codes(self) -> frozenset[str]:
        """The codes switched off everywhere (kept for callers of the old ``ProjectConfig.ignore``)."""
        return frozenset(code for code in RULES if not self.enabled(code, ""))


def _norm(selector: str) -> str:
    return "" if selector == ALL else selector


def _prefix(code: str, selector: str) -> bool:
    return code.startswith(_norm(selector))


def selector_problem(selector: str) -> tuple[str, str] | None:
    """Why ``selector`` selects no rule, and a hint (did you mean …?); None when it is fine."""
    if selector == ALL or (selector and any(code.startswith(selector) for code in RULES)):
        return None
    message = tr("unknown rule code '{code}'", code=selector)
    by_name = {rule.name: rule.code for rule in RULES.values()}
    if selector in by_name:
        return message, tr("did you mean {code} ({name})?", code=by_name[selector], name=selector)
    upper = selector.upper()
    if upper != selector and selector_problem(upper) is None:
        return message, tr("did you mean {name}?", name=upper)
    close = difflib.get_close_matches(selector, sorted(RULES), n=1, cutoff=0.6)
    if close:
        return message, tr("did you mean {name}?", name=close[0])
    return message, tr("codes look like E204, prefixes like E2 or W, or ALL")


def split_selectors(values: Iterable[str]) -> list[str]:
    """Command-line selectors: each value may hold several, separated by commas."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over ``/``-separated paths: ``*`` and ``?`` stay in one folder, ``**`` spans folders."""
    out = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := pattern.find("]", i + 1)) > i + 1:
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def glob_match(pattern: str, file: str) -> bool:
    """Whether the project-relative ``file`` matches; a pattern without ``/`` matches the file name anywhere."""
    pattern = pattern.removeprefix("./")
    name = file if "/" in pattern else file.rsplit("/", 1)[-1]
    return _glob_regex(pattern).fullmatch(name) is not None


def rules_from_config(value: object, file: str, text: str = "") -> RuleSelection:
    """The ``[rules]`` table of the configuration; raise :class:`DiagnosticError` (E007) on anything wrong.

    ``text`` is the configuration's source, used only to point each finding at the line that causes it.
    """
    problems: list[Diagnostic] = []

    def problem(message: str, needle: str = "[rules", hint: str | None = None) -> None:
        problems.append(Diagnostic("E007", message, _locate(file, text, needle), hint=hint))

    if not isinstance(value, dict):
        problem(tr("'rules' must be a table: [rules] with select, ignore and per-file-ignores"))
        raise DiagnosticError(problems)
    for key in sorted(set(value) - set(RULES_KEYS)):
        close = difflib.get_close_matches(key, RULES_KEYS, n=1)
        problem(
            tr("unknown key '{key}' in [rules]", key=key),
            key,
            tr("did you mean '{value}'?", value=close[0])
            if close
            else tr("keys: {names}", names=", ".join(RULES_KEYS)),
        )

    def selectors(raw: object, where: str, switching_off: bool) -> tuple[str, ...]:
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            problem(tr("{where} must be a list of rule codes (strings)", where=where), where.split()[-1])
            return ()
        for item in raw:
            unknown = selector_problem(item)
            if unknown:
                problem(tr("{problem} in {where}", problem=unknown[0], where=where), f'"{item}"', unknown[1])
            elif switching_off and item in ALWAYS_REPORTED:
                problem(
                    tr("{code} cannot be switched off in {where}", code=item, where=where),
                    f'"{item}"',
                    tr("a file or document with this error is not loaded at all, so it is always reported"),
                )
        return tuple(raw)

    select = selectors(value["select"], "[rules] select", False) if "select" in value else None
    ignore = selectors(value.get("ignore", []), "[rules] ignore", True)
    per_file: list[tuple[str, tuple[str, ...]]] = []
    table = value.get("per-file-ignores", {})
    if not isinstance(table, dict):
        problem(tr("[rules.per-file-ignores] must be a table of glob = [codes]"), "per-file-ignores")
    else:
        for pattern, codes in sorted(table.items()):
            per_file.append((pattern, selectors(codes, f"[rules.per-file-ignores] '{pattern}'", True)))
    if problems:
        raise DiagnosticError(problems)
    return RuleSelection(select, ignore, tuple(per_file))


def _locate(file: str, text: str, needle: str) -> Span:
    """The first place ``needle`` occurs in the configuration (after a ``rules`` table header, if any)."""
    start = max(text.find("[rules"), text.find("[tool.ecrm.rules"), 0)
    offset = text.find(needle, start)
    if offset < 0:
        offset = text.find(needle)
    if offset < 0:
        return Span(file, 1, 1)
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return Span(file, line, column, line, column + len(needle))
