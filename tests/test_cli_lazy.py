"""The lazy command group: help and completion as before, and a command imports only what it needs."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from ecrm_dsl.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent
RULES_PROJECT = ROOT / "tests" / "fixtures" / "rules_project"


def _real_commands() -> dict[str, click.Command]:
    found = {}
    for name, lazy in COMMANDS.items():
        command = getattr(importlib.import_module(lazy.module), lazy.attribute)
        found[name] = command
    return found


def test_every_command_is_listed_under_its_own_name_with_its_own_summary() -> None:
    for name, command in _real_commands().items():
        assert command.name == name
        first_paragraph = " ".join((command.help or "").split("\n\n")[0].split())
        assert COMMANDS[name].summary == first_paragraph, name


def test_every_command_defined_in_the_cli_package_is_listed() -> None:
    package = ROOT / "ecrm_dsl" / "cli"
    defined = set()
    for path in sorted(package.glob("*.py")):
        if path.name != "__init__.py":
            module = importlib.import_module(f"ecrm_dsl.cli.{path.stem}")
            commands = [value for value in vars(module).values() if isinstance(value, click.Command)]
            # A group's own subcommands (`ecrm segment export`) are listed by the group, not at the top.
            under_groups = {id(c) for g in commands if isinstance(g, click.Group) for c in g.commands.values()}
            defined |= {c.name for c in commands if id(c) not in under_groups}
    assert defined == set(COMMANDS)


def test_help_is_the_same_as_an_eager_group_of_the_real_commands() -> None:
    eager = click.Group(
        "cli", params=cli.params, help=cli.help, context_settings=cli.context_settings, commands=_real_commands()
    )
    lazy_help = CliRunner().invoke(cli, ["--help"], prog_name="ecrm").output
    eager_help = CliRunner().invoke(eager, ["--help"], prog_name="ecrm").output
    assert lazy_help == eager_help
    # The column is as wide as the longest command name (send-test): the summary starts where it ends.
    assert re.search(r"\n  lint +Check scenarios \(and the segments, templates, schema(?: and)?\.\.\.\n", lazy_help)


def _complete(words: str, cword: int) -> list[str]:
    env = {**os.environ, "_ECRM_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    done = subprocess.run(
        [sys.executable, "-c", "from ecrm_dsl.cli import main; main()"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


def test_shell_completion_of_commands_and_of_a_commands_options() -> None:
    assert _complete("ecrm ", 1) == [f"plain,{name}" for name in sorted(COMMANDS)]
    assert _complete("ecrm si", 1) == ["plain,simulate"]
    assert _complete("ecrm lint --fo", 2) == ["plain,--format"]
    assert "plain,--config" in _complete("ecrm --", 1)


def _modules_after(args: list[str], cwd: Path) -> tuple[int, set[str]]:
    """Run ``ecrm ARGS`` in a fresh interpreter; its exit code and every module it imported."""
    script = (
        "import atexit, json, sys\n"
        "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
        f"sys.argv = ['ecrm', *{args!r}]\n"
        "from ecrm_dsl.cli import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=cwd, capture_output=True, text=True, check=False)
    return done.returncode, set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_lint_imports_no_other_command_nor_the_runtime() -> None:
    code, modules = _modules_after(["lint", "--format", "json"], RULES_PROJECT)
    assert code == 0
    assert "ecrm_dsl.cli.lint_cmd" in modules
    others = {lazy.module for name, lazy in COMMANDS.items() if name != "lint"}
    assert not others & modules
    heavy = ("sqlalchemy", "croniter", "holidays", "ecrm_dsl.runtime", "ecrm_dsl.store", "ecrm_dsl.build")
    assert not [m for m in modules if m.startswith(heavy)]


def test_help_imports_no_command() -> None:
    code, modules = _modules_after(["--help"], ROOT)
    assert code == 0
    assert not {lazy.module for lazy in COMMANDS.values()} & modules
