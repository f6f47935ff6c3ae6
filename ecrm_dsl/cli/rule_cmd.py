"""``ecrm rule [CODE|NAME]``: print a rule's page (docs/rules/CODE.md, or docs/rules/ja/CODE.md in Japanese), or
list the rules with their summaries in the current language."""

from __future__ import annotations

import difflib
from pathlib import Path

import click
from click.shell_completion import CompletionItem

from ecrm_dsl.cli.common import ExitCode, alternatives
from ecrm_dsl.docs.wording import folder, severity_line, summary
from ecrm_dsl.language.diagnostics import RULES, Rule
from ecrm_dsl.language.i18n import tr

# Installed, the pages are inside the package (pyproject's force-include); in a checkout, in docs/rules.
_PACKAGE_PAGES = Path(__file__).resolve().parent.parent / "docs" / "rules"
_REPOSITORY_PAGES = Path(__file__).resolve().parents[2] / "docs" / "rules"


def find_rule(word: str) -> Rule | None:
    """The rule a code (``E204``, ``e204``) or a name (``unknown-attribute``) means."""
    by_name = {rule.name: rule for rule in RULES.values()}
    return RULES.get(word.upper()) or by_name.get(word.lower())


def page(rule: Rule) -> str:
    """The rule's page in the current language; its summary alone when the pages are not installed."""
    for pages in (_PACKAGE_PAGES, _REPOSITORY_PAGES):
        path = pages / folder() / f"{rule.code}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return f"# {rule.code} {rule.name}\n\n{severity_line(rule)}\n"


def listing() -> str:
    width = max(len(rule.name) for rule in RULES.values())
    lines = [
        f"{rule.code}  {rule.name:<{width}}  {rule.severity.value:<7}  {summary(rule)}"
        for rule in sorted(RULES.values(), key=lambda r: r.code)
    ]
    return "\n".join(lines) + "\n"


def _complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
    """Codes and names that start with what is typed, each with its summary."""
    items = []
    for rule in sorted(RULES.values(), key=lambda r: r.code):
        for word in (rule.code, rule.name):
            if word.lower().startswith(incomplete.lower()):
                items.append(CompletionItem(word, help=summary(rule)))
    return items


@click.command("rule")
@click.argument("code", required=False, metavar="[CODE|NAME]", shell_complete=_complete)
@click.pass_context
def rule_command(ctx: click.Context, code: str | None) -> None:
    """Print a rule's page: what it means, why it matters, an example that fails and one that passes, how to
    silence it and its fix (CODE such as E204, or NAME such as unknown-attribute); without one, list the rules.

    Exit status: 0, 1 for an unknown rule.
    """
    if code is None:
        click.echo(listing(), nl=False)
        return
    rule = find_rule(code)
    if rule is None:
        close = difflib.get_close_matches(code.upper(), sorted(RULES), n=1)
        close += difflib.get_close_matches(code.lower(), sorted(r.name for r in RULES.values()), n=1)
        if close:
            hint = tr("did you mean {name}?", name=alternatives(close[:2]))
        else:
            hint = tr("`ecrm rule` lists them")
        click.echo("ecrm rule: " + tr("no rule '{code}'; {hint}", code=code, hint=hint), err=True)
        ctx.exit(int(ExitCode.FINDINGS))
    click.echo(page(rule), nl=False)
