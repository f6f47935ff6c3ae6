"""Generates ``docs/rules/CODE.md``, one page per rule, from the rule registry and the golden cases, and the same
pages in Japanese, ``docs/rules/ja/CODE.md`` (each page links to the other language's).

A page says what the rule means (the registry's summary), why it matters (:mod:`ecrm_dsl.language.rule_notes`),
shows an example that fails and one that passes, how to silence it and what ``ecrm lint --fix`` does. Both
examples are golden cases in ``tests/golden/rules/``: the failing one is a file of the rule's case with the
findings its expected.txt lists, the passing one is the case's ``pass_*`` file (or the files of a case named
``CODE_pass``, for rules about the configuration or the policies), which the golden test keeps clean.

The prose is English in the code and translated through the message catalogue (:mod:`ecrm_dsl.language.i18n`);
the examples, their findings (as the golden cases list them) and the fix diffs are the same in both languages.

Regenerate after changing a rule, a note or a golden case::

    python -m ecrm_dsl.docs.rule_pages docs/rules
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ecrm_dsl.build.pipeline import SUPPRESSIBLE_ERRORS
from ecrm_dsl.docs.wording import folder, other_languages, severity_line, severity_word, summary
from ecrm_dsl.language import i18n
from ecrm_dsl.language.diagnostics import RULES, Rule, Severity
from ecrm_dsl.language.i18n import lookup, tr
from ecrm_dsl.language.rule_notes import ELSEWHERE, EXAMPLES, FIXES, WHY
from ecrm_dsl.project.autofix import apply_edits
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint
from ecrm_dsl.project.rule_selection import ALWAYS_REPORTED

REPOSITORY = Path(__file__).resolve().parents[2]
GOLDEN = REPOSITORY / "tests" / "golden" / "rules"
FIXTURE = REPOSITORY / "tests" / "fixtures" / "rules_project"  # the project every golden case runs in
SCENARIO_SUFFIXES = (".yaml", ".yml", ".ecrm")
_RESOURCES = {"customer_schema.yaml", "policies.yaml"}  # at a case's top level, but not scenarios
PASSING_PREFIX = "pass_"
# Longer examples are not shown on the page (a generated file, a condition of 11,000 characters): it names them.
MAX_SHOWN_CHARS, MAX_SHOWN_LINE = 2500, 240
_FENCE = {".yaml": "yaml", ".yml": "yaml", ".toml": "toml", ".ecrm": ""}


@dataclass(frozen=True)
class ExampleFile:
    """A file of a golden case: its name in the project (as findings name it) and where it is in the case."""

    name: str
    path: Path

    def text(self) -> str | None:
        """The text to show, or None when it cannot be shown as it is."""
        try:
            text = self.path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if "\0" in text or len(text) > MAX_SHOWN_CHARS or any(len(line) > MAX_SHOWN_LINE for line in text.split("\n")):
            return None
        return text


def project_name(case_file: Path, case: Path) -> str:
    """The name a case's file has in the project the golden test builds (scenario files go to scenarios/)."""
    relative = case_file.relative_to(case)
    if len(relative.parts) == 1 and case_file.suffix in SCENARIO_SUFFIXES and case_file.name not in _RESOURCES:
        return f"scenarios/{relative.as_posix()}"
    return relative.as_posix()


def example_case(rule: Rule) -> str:
    """The golden case a rule's page draws on: the one chosen in rule_notes, else ``CODE_name``, else the first."""
    if rule.code in EXAMPLES:
        return EXAMPLES[rule.code][0]
    cases = sorted(p.name for p in GOLDEN.iterdir() if p.is_dir() and p.name.startswith(f"{rule.code}_"))
    preferred = f"{rule.code}_{rule.name}"
    return preferred if preferred in cases else next(c for c in cases if not c.endswith("_pass"))


def expected_findings(case: str) -> list[str]:
    path = GOLDEN / case / "expected.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def failing_example(rule: Rule) -> tuple[str, str, list[str]]:
    """(case, file name in the project, the findings of this rule in it, as the golden case lists them)."""
    case = example_case(rule)
    ours = [line for line in expected_findings(case) if line.split()[2:3] == [rule.code]]
    by_file: dict[str, list[str]] = {}
    for line in ours:
        by_file.setdefault(line.split(":", 1)[0], []).append(line)
    if rule.code in EXAMPLES:
        wanted = EXAMPLES[rule.code][1]
        name = next(n for n in sorted(by_file) if n.rsplit("/", 1)[-1] == wanted)
    else:
        name = min(sorted(by_file), key=lambda n: _length(case, n))
    return case, name, by_file[name]


def _length(case: str, name: str) -> int:
    path = case_path(case, name)
    return len(path.read_bytes()) if path.is_file() else sys.maxsize


def case_path(case: str, name: str) -> Path:
    """Where the case keeps the file the project calls ``name``."""
    return GOLDEN / case / name.removeprefix("scenarios/")


def passing_examples(rule: Rule) -> tuple[str, list[ExampleFile]]:
    """(case, files) of the passing example: the case's pass_* files, or a CODE_pass case."""
    case = example_case(rule)
    folder = GOLDEN / case
    files = sorted(p for p in folder.rglob(f"{PASSING_PREFIX}*") if p.is_file())
    if not files:
        case = f"{rule.code}_pass"
        folder = GOLDEN / case
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "expected.txt")
    return case, [ExampleFile(project_name(p, folder), p) for p in files]


def _show(file: ExampleFile, case: str) -> list[str]:
    text = file.text()
    lines = [f"`{file.name}`:", ""]
    if text is None:
        where = f"tests/golden/rules/{case}/{file.path.relative_to(GOLDEN / case).as_posix()}"
        return [*lines, tr("(not shown here: not plain UTF-8 text of a readable size; see `{where}`)", where=where)]
    return [*lines, f"```{_FENCE.get(file.path.suffix, '')}", text.rstrip("\n"), "```"]


@cache  # the same in every language: the pages of each language ask for it
def fix_diff(rule: Rule) -> str | None:
    """What ``ecrm lint --fix`` changes in the failing example for this rule's findings, as a unified diff: the
    case is linted in a copy of the golden project (as the golden test builds it) and the fixes applied."""
    case, name, _ = failing_example(rule)
    with tempfile.TemporaryDirectory(prefix="ecrm-rule-page-") as scratch:
        root = Path(scratch) / "project"
        shutil.copytree(FIXTURE, root)
        (root / "scenarios").mkdir(exist_ok=True)
        for item in sorted((GOLDEN / case).iterdir()):
            if item.is_dir():
                shutil.copytree(item, root / item.name, dirs_exist_ok=True)
            elif item.name != "expected.txt":
                shutil.copy(item, root / project_name(item, GOLDEN / case))
        findings = lint(load_config(root / "ecrm.toml")).diagnostics
        text = (root / name).read_text(encoding="utf-8")
    fixes = [d.fix for d in findings if d.code == rule.code and d.fix is not None and d.fix.span.file == name]
    if not fixes:
        return None
    fixed, _ = apply_edits(text, fixes)
    lines = difflib.unified_diff(
        text.splitlines(keepends=True), fixed.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(lines).rstrip("\n")


def _silencing(rule: Rule) -> list[str]:
    code = rule.code
    if code in ALWAYS_REPORTED:
        return [
            tr("Cannot be silenced: a file or document with this error is not loaded at all, so it is always reported.")
        ]
    if code == "E007":
        return [tr("Cannot be silenced: the configuration is read before any rule selection applies.")]
    how = tr(
        "`# ecrm: ignore[{code}]` at the end of the line (or alone on the line before it), "
        '`# ecrm: ignore-file[{code}]` in the first 5 lines of the file, `ignore = ["{code}"]` under `[rules]` '
        "in ecrm.toml, or `ecrm lint --ignore {code}`.",
        code=code,
    )
    if code == "W901":
        how = tr(
            'Not by a comment (a suppression cannot cover itself): `ignore = ["W901"]` under `[rules]` in ecrm.toml, '
            "or `ecrm lint --ignore W901`."
        )
    if code in ELSEWHERE:
        how = tr(
            '`ignore = ["{code}"]` under `[rules]` in ecrm.toml, or `ecrm lint --ignore {code}`; a suppression '
            "comment does not reach it, since a lint without a store never sees it.",
            code=code,
        )
    lines = [how]
    if rule.severity == Severity.ERROR and code in SUPPRESSIBLE_ERRORS:
        reason = lookup(SUPPRESSIBLE_ERRORS[code])
        lines += ["", tr("The plan is still made when it is silenced: {reason}.", reason=reason)]
    elif rule.severity == Severity.ERROR:
        lines += [
            "",
            tr(
                "Silencing hides it from `ecrm lint` only: `ecrm compile`, `deploy` and every command that needs a "
                'plan still refuse it (README: "Which errors can be silenced").'
            ),
        ]
    return lines


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """The catalogue of ``language`` while a page is written, then the process's own language again."""
    before = i18n.language()
    i18n.use(language)
    try:
        yield
    finally:
        i18n.use(before)


def _head(rule: Rule, language: str) -> list[str]:
    """The title, the links to the page in the other languages, the severity and summary."""
    return [f"# {rule.code} {rule.name}", "", other_languages(f"{rule.code}.md", language), "", severity_line(rule)]


def render_page(rule: Rule, language: str = i18n.DEFAULT) -> str:
    """The Markdown page of one rule, in ``language``."""
    with speaking(language):
        if rule.code in ELSEWHERE:
            return _render_without_golden(rule, language)
        return _render_with_golden(rule, language)


def _render_with_golden(rule: Rule, language: str) -> str:
    case, name, findings = failing_example(rule)
    passing_case, passing = passing_examples(rule)
    failing_file = ExampleFile(name, case_path(case, name))
    lines = [
        *_head(rule, language),
        "",
        "## " + tr("Why it matters"),
        "",
        lookup(WHY[rule.code]),
        "",
        "## " + tr("Example that fails"),
        "",
        *_show(failing_file, case),
        "",
        "```",
        *findings,
        "```",
        "",
        "## " + tr("Example that passes"),
        "",
    ]
    for file in passing:
        lines += [*_show(file, passing_case), ""]
    lines += ["## " + tr("Fix"), ""]
    if rule.code in FIXES:
        lines.append(
            tr(
                "`ecrm lint --fix` applies the safe fix (`ecrm lint --diff` shows it first): {fix}",
                fix=lookup(FIXES[rule.code]),
            )
        )
        diff = fix_diff(rule)
        if diff:
            lines += ["", tr("On the failing example, for {code}:", code=rule.code), "", "```diff", diff, "```"]
    else:
        lines.append(tr("No automatic fix: the finding's hint says what to change."))
    lines += ["", "## " + tr("Silencing"), "", *_silencing(rule), ""]
    if passing_case != case:
        footer = tr(
            "Generated from the rule registry and the golden cases `tests/golden/rules/{case}` and "
            "`{passing_case}` by `python -m ecrm_dsl.docs.rule_pages docs/rules`; the tests check that the failing "
            "example reports {code} and the passing one does not.",
            case=case,
            passing_case=passing_case,
            code=rule.code,
        )
    else:
        footer = tr(
            "Generated from the rule registry and the golden cases `tests/golden/rules/{case}` by "
            "`python -m ecrm_dsl.docs.rule_pages docs/rules`; the tests check that the failing example reports "
            "{code} and the passing one does not.",
            case=case,
            code=rule.code,
        )
    lines += ["---", "", footer, ""]
    return "\n".join(lines)


def _render_without_golden(rule: Rule, language: str) -> str:
    """The page of a rule that no golden case can show (it needs a store): where its examples are instead."""
    lines = [*_head(rule, language), ""]
    lines += ["## " + tr("Why it matters"), "", lookup(WHY[rule.code]), ""]
    lines += ["## " + tr("Examples"), "", lookup(ELSEWHERE[rule.code]), ""]
    lines += ["## " + tr("Fix"), "", tr("No automatic fix: the finding's hint says what to change."), ""]
    lines += ["## " + tr("Silencing"), "", *_silencing(rule), ""]
    generated = tr("Generated from the rule registry by `python -m ecrm_dsl.docs.rule_pages docs/rules`.")
    lines += ["---", "", generated, ""]
    return "\n".join(lines)


def render_index(language: str = i18n.DEFAULT) -> str:
    """The list of the rules, in ``language``."""
    with speaking(language):
        lines = ["# " + tr("Rules"), "", other_languages("README.md", language), ""]
        lines += [tr("One page per rule; `ecrm rule CODE` prints the same page."), ""]
        lines += [tr("| code | name | severity | meaning |"), "| --- | --- | --- | --- |"]
        for rule in sorted(RULES.values(), key=lambda r: r.code):
            row = [f"[{rule.code}]({rule.code}.md)", rule.name, severity_word(rule), summary(rule)]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """Every page by its path below docs/rules: CODE.md for each rule and README.md, the index, in English, and the
    same in each other language's folder (``ja/CODE.md``, ``ja/README.md``)."""
    generated: dict[str, str] = {}
    for language in i18n.LANGUAGES:
        where = folder(language)
        generated |= {f"{where}{code}.md": render_page(rule, language) for code, rule in sorted(RULES.items())}
        generated[f"{where}README.md"] = render_index(language)
    return generated


def on_disk(root: Path) -> dict[str, Path]:
    """The pages found below ``root`` by their path (as :func:`pages` names them): its own and each language's."""
    found = {p.name: p for p in root.glob("*.md")}
    for language in i18n.LANGUAGES:
        if language != i18n.DEFAULT:
            found |= {f"{language}/{p.name}": p for p in (root / language).glob("*.md")}
    return found


def write_pages(root: Path) -> list[str]:
    """Writes the pages below ``root`` (removing pages of rules that no longer exist); returns what changed."""
    wanted = pages()
    changed = []
    for name, stale in sorted(on_disk(root).items()):
        if name not in wanted:
            stale.unlink()
            changed.append(name)
    for name, text in wanted.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8", newline="\n")
            changed.append(name)
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ecrm_dsl.docs.rule_pages FOLDER   (the repository's docs/rules)", file=sys.stderr)
        return 2
    changed = write_pages(Path(argv[0]))
    print(f"{len(changed)} page(s) written" + (f": {', '.join(changed)}" if changed else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
