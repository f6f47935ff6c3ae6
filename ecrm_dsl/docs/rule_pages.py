"""Generates ``docs/rules/CODE.md``, one page per rule, from the rule registry and the golden cases.

A page says what the rule means (the registry's summary), why it matters (:mod:`ecrm_dsl.language.rule_notes`),
shows an example that fails and one that passes, how to silence it and what ``ecrm lint --fix`` does. Both
examples are golden cases in ``tests/golden/rules/``: the failing one is a file of the rule's case with the
findings its expected.txt lists, the passing one is the case's ``pass_*`` file (or the files of a case named
``CODE_pass``, for rules about the configuration or the policies), which the golden test keeps clean.

Regenerate after changing a rule, a note or a golden case::

    python -m ecrm_dsl.docs.rule_pages docs/rules
"""

from __future__ import annotations

import difflib
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ecrm_dsl.build.pipeline import SUPPRESSIBLE_ERRORS
from ecrm_dsl.language.diagnostics import RULES, Rule, Severity
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
        return [*lines, f"(not shown here: not plain UTF-8 text of a readable size; see `{where}`)"]
    return [*lines, f"```{_FENCE.get(file.path.suffix, '')}", text.rstrip("\n"), "```"]


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
            "Cannot be silenced: a file or document with this error is not loaded at all, so it is always reported."
        ]
    if code == "E007":
        return ["Cannot be silenced: the configuration is read before any rule selection applies."]
    how = (
        f"`# ecrm: ignore[{code}]` at the end of the line (or alone on the line before it), "
        f'`# ecrm: ignore-file[{code}]` in the first 5 lines of the file, `ignore = ["{code}"]` under `[rules]` '
        f"in ecrm.toml, or `ecrm lint --ignore {code}`."
    )
    if code == "W901":
        how = (
            'Not by a comment (a suppression cannot cover itself): `ignore = ["W901"]` under `[rules]` in ecrm.toml, '
            "or `ecrm lint --ignore W901`."
        )
    if code in ELSEWHERE:
        how = (
            f'`ignore = ["{code}"]` under `[rules]` in ecrm.toml, or `ecrm lint --ignore {code}`; a suppression '
            "comment does not reach it, since a lint without a store never sees it."
        )
    lines = [how]
    if rule.severity == Severity.ERROR and code in SUPPRESSIBLE_ERRORS:
        lines += ["", f"The plan is still made when it is silenced: {SUPPRESSIBLE_ERRORS[code]}."]
    elif rule.severity == Severity.ERROR:
        lines += [
            "",
            "Silencing hides it from `ecrm lint` only: `ecrm compile`, `deploy` and every command that needs a plan "
            'still refuse it (README: "Which errors can be silenced").',
        ]
    return lines


def render_page(rule: Rule) -> str:
    """The Markdown page of one rule."""
    if rule.code in ELSEWHERE:
        return _render_without_golden(rule)
    case, name, findings = failing_example(rule)
    passing_case, passing = passing_examples(rule)
    failing_file = ExampleFile(name, case_path(case, name))
    lines = [
        f"# {rule.code} {rule.name}",
        "",
        f"**{rule.severity.value}** · {rule.summary}",
        "",
        "## Why it matters",
        "",
        WHY[rule.code],
        "",
        "## Example that fails",
        "",
        *_show(failing_file, case),
        "",
        "```",
        *findings,
        "```",
        "",
        "## Example that passes",
        "",
    ]
    for file in passing:
        lines += [*_show(file, passing_case), ""]
    lines += ["## Fix", ""]
    if rule.code in FIXES:
        lines.append(f"`ecrm lint --fix` applies the safe fix (`ecrm lint --diff` shows it first): {FIXES[rule.code]}")
        diff = fix_diff(rule)
        if diff:
            lines += ["", f"On the failing example, for {rule.code}:", "", "```diff", diff, "```"]
    else:
        lines.append("No automatic fix: the finding's hint says what to change.")
    lines += ["", "## Silencing", "", *_silencing(rule), ""]
    lines += [
        "---",
        "",
        f"Generated from the rule registry and the golden cases `tests/golden/rules/{case}`"
        + (f" and `{passing_case}`" if passing_case != case else "")
        + " by `python -m ecrm_dsl.docs.rule_pages docs/rules`; the tests check that the failing example reports "
        f"{rule.code} and the passing one does not.",
        "",
    ]
    return "\n".join(lines)


def _render_without_golden(rule: Rule) -> str:
    """The page of a rule that no golden case can show (it needs a store): where its examples are instead."""
    lines = [f"# {rule.code} {rule.name}", "", f"**{rule.severity.value}** · {rule.summary}", ""]
    lines += ["## Why it matters", "", WHY[rule.code], "", "## Examples", "", ELSEWHERE[rule.code], ""]
    lines += ["## Fix", "", "No automatic fix: the finding's hint says what to change.", ""]
    lines += ["## Silencing", "", *_silencing(rule), ""]
    lines += ["---", "", "Generated from the rule registry by `python -m ecrm_dsl.docs.rule_pages docs/rules`.", ""]
    return "\n".join(lines)


def render_index() -> str:
    lines = ["# Rules", "", "One page per rule; `ecrm rule CODE` prints the same page.", ""]
    lines += ["| code | name | severity | meaning |", "| --- | --- | --- | --- |"]
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        lines.append(f"| [{rule.code}]({rule.code}.md) | {rule.name} | {rule.severity.value} | {rule.summary} |")
    return "\n".join(lines) + "\n"


def pages() -> dict[str, str]:
    """Every page by file name: CODE.md for each rule, and README.md, the index."""
    generated = {f"{code}.md": render_page(rule) for code, rule in sorted(RULES.items())}
    generated["README.md"] = render_index()
    return generated


def write_pages(folder: Path) -> list[str]:
    """Writes the pages into ``folder`` (removing pages of rules that no longer exist); returns what changed."""
    folder.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    changed = []
    for stale in sorted(p for p in folder.glob("*.md") if p.name not in wanted):
        stale.unlink()
        changed.append(stale.name)
    for name, text in wanted.items():
        path = folder / name
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
