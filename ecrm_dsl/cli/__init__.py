"""The ``ecrm`` command line (click). Nothing else in the package imports this module.

Each command's module is imported only when that command runs: ``ecrm lint`` should not pay for the
database, scheduler and report code of the other commands. ``ecrm --help`` and shell completion list the
commands from the summaries below, which a test keeps equal to the commands' own help.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass

import click
from click.shell_completion import CompletionItem

from ecrm_dsl.cli.language import localize, short_help, speak
from ecrm_dsl.language.i18n import lookup, tr


@dataclass(frozen=True)
class LazyCommand:
    """Where a command lives, and the first paragraph of its help (what ``ecrm --help`` shows of it)."""

    module: str
    attribute: str
    summary: str


COMMANDS: dict[str, LazyCommand] = {
    "compile": LazyCommand(
        "ecrm_dsl.cli.compile_cmd",
        "compile_command",
        "Compile every scenario of the project into a deterministic JSON execution plan.",
    ),
    "convert": LazyCommand(
        "ecrm_dsl.cli.convert_cmd",
        "convert_command",
        "Convert SOURCE between YAML (.yaml/.yml) and text (.ecrm); the meaning, and the plan, stay the same.",
    ),
    "demo": LazyCommand(
        "ecrm_dsl.cli.demo_cmd",
        "demo_command",
        "Generate a demo shop, deploy the project's scenarios (the examples in this repository, or a starter "
        "project), run a simulated month of ticks and print what happened.",
    ),
    "deploy": LazyCommand(
        "ecrm_dsl.cli.runtime_cmds",
        "deploy_command",
        "Record the plan as the active version in the store (history is kept).",
    ),
    "diff": LazyCommand(
        "ecrm_dsl.cli.diff_cmd",
        "diff_command",
        "Compare two versions of the scenarios: BASE and HEAD are each a plan file (.json), a project folder or a "
        "git revision; HEAD defaults to the working tree (the current project).",
    ),
    "explain": LazyCommand(
        "ecrm_dsl.cli.runtime_cmds",
        "explain_command",
        "Print a customer's timeline with the reason for each decision, and why they never entered the other "
        "deployed scenarios (exit 1 for a customer the store does not have).",
    ),
    "fmt": LazyCommand(
        "ecrm_dsl.cli.fmt_cmd",
        "fmt_command",
        "Format scenario, segment, template, schema and policy files (.ecrm, .yaml, .yml) in one canonical layout.",
    ),
    "graph": LazyCommand(
        "ecrm_dsl.cli.graph_cmd",
        "graph_command",
        "Draw SCENARIO (a scenario id) as a diagram: its trigger, steps, timings, guards, branches and ends.",
    ),
    "import": LazyCommand(
        "ecrm_dsl.cli.import_cmd",
        "import_command",
        "Import KIND (customers, orders, order_items, subscriptions, events, products or coupons) from the CSV FILE.",
    ),
    "init": LazyCommand(
        "ecrm_dsl.cli.init_cmd",
        "init_command",
        "Create a starter project in DIRECTORY: ecrm.toml, customer schema, policies, a segment, two templates "
        "and the F2 step mail. Existing files are never overwritten.",
    ),
    "lint": LazyCommand(
        "ecrm_dsl.cli.lint_cmd",
        "lint_command",
        "Check scenarios (and the segments, templates, schema and policies they use).",
    ),
    "lsp": LazyCommand(
        "ecrm_dsl.cli.lsp_cmd",
        "lsp_command",
        "Run the language server for .ecrm and the project's YAML files (LSP over stdio).",
    ),
    "preview": LazyCommand(
        "ecrm_dsl.cli.preview_cmd",
        "preview_command",
        "Render TEMPLATE, or the send step SCENARIO:STEP, exactly as customer ID would receive it.",
    ),
    "report": LazyCommand(
        "ecrm_dsl.cli.report_cmd",
        "report_command",
        "KPIs from the recorded outcomes: F2 conversion, repeat rate, subscription retention, win-back; per scenario "
        "conversion against the holdout with uplift and a 95% interval, the funnel, per-step opens, clicks and "
        "conversions, A/B variants, and breakdowns by phase at entry and by segment.",
    ),
    "rule": LazyCommand(
        "ecrm_dsl.cli.rule_cmd",
        "rule_command",
        "Print a rule's page: what it means, why it matters, an example that fails and one that passes, how to "
        "silence it and its fix (CODE such as E204, or NAME such as unknown-attribute); without one, list the rules.",
    ),
    "run": LazyCommand(
        "ecrm_dsl.cli.runtime_cmds",
        "run_command",
        "Run ticks: enroll, settle goals and stop rules, advance due steps, deliver the outbox.",
    ),
    "schema": LazyCommand(
        "ecrm_dsl.cli.schema_cmd",
        "schema_command",
        "Copy the JSON Schemas of the YAML files into the project for editors: `ecrm schema export DIR`, "
        "`ecrm schema vscode`.",
    ),
    "segment": LazyCommand(
        "ecrm_dsl.cli.segment_cmd",
        "segment_command",
        "Work with the project's segments: `ecrm segment export NAME` lists who is in one, as CSV.",
    ),
    "send-test": LazyCommand(
        "ecrm_dsl.cli.send_test_cmd",
        "send_test_command",
        "Send TEMPLATE, or the send step SCENARIO:STEP, as customer ID would receive it, to a staff address on the "
        "test-send allow-list, marked as a test.",
    ),
    "serve": LazyCommand(
        "ecrm_dsl.cli.serve_cmd",
        "serve_command",
        "Run the live-ingest HTTP API: POST batches of events, orders, customers and subscriptions as JSON.",
    ),
    "simulate": LazyCommand(
        "ecrm_dsl.cli.simulate_cmd",
        "simulate_command",
        "Replay the store's history with a virtual clock against the plan; nothing is delivered.",
    ),
    "store": LazyCommand(
        "ecrm_dsl.cli.store_cmd",
        "store_command",
        "Show or upgrade the store's schema revision (`ecrm store version`, `ecrm store upgrade`).",
    ),
    "status": LazyCommand(
        "ecrm_dsl.cli.runtime_cmds",
        "status_command",
        "Show what is deployed and how many customers are at each step.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use; help and completion read :data:`COMMANDS`."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        lazy = COMMANDS.get(cmd_name)
        if lazy is None:
            return None
        command = getattr(importlib.import_module(lazy.module), lazy.attribute)
        assert isinstance(command, click.Command)
        return localize(command, ctx)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # Only a command that opened a store can have loaded the module that says its schema is wrong.
            revisions = sys.modules.get("ecrm_dsl.store.revisions")
            if revisions is not None and isinstance(exc, revisions.StoreSchemaError):
                click.echo(f"ecrm: {exc}", err=True)
                raise SystemExit(2) from None
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        with formatter.section(tr("Commands")):
            formatter.write_dl([(name, short_help(_listing(name), limit)) for name in names])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        names = [name for name in self.list_commands(ctx) if name.startswith(incomplete)]
        commands = [CompletionItem(name, help=_listing(name).get_short_help_str()) for name in names]
        return commands + click.Command.shell_complete(self, ctx, incomplete)


def _listing(name: str) -> click.Command:
    """A stand-in with the command's summary, so that click shortens it exactly as it would the real help."""
    return click.Command(name, help=lookup(COMMANDS[name].summary))


def _choose_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    speak(value)
    localize(ctx.command, ctx)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True),
    help="ecrm.toml or pyproject.toml to use (default: the nearest one above the current folder).",
)
@click.option(
    "--lang",
    envvar="ECRM_LANG",
    metavar="en|ja",
    is_eager=True,
    expose_value=False,
    callback=_choose_language,
    help="Language of messages and help: en or ja (default: $ECRM_LANG, else the locale's, else en).",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the output: auto colours a terminal unless NO_COLOR is set (FORCE_COLOR colours a pipe too).",
)
@click.version_option(package_name="ecrm-dsl")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, color: str) -> None:
    """ecrm-dsl: CRM scenarios as code — lint, compile and convert scenario files."""
    ctx.obj = {"config_path": config_path, "color": color}


def main() -> None:
    """Entry point: click's own usage errors exit 2; anything unexpected is one line, never a traceback."""
    from ecrm_dsl.cli.redact import guard_output

    guard_output()  # no credential reaches the terminal or a log, whichever command prints it
    try:
        speak(os.environ.get("ECRM_LANG"))  # before any help is shown; --lang, parsed later, may change it
    except click.BadParameter as exc:
        click.echo(f"ecrm: ECRM_LANG: {exc.message}", err=True)
        sys.exit(2)
    localize(cli)
    try:
        cli.main(prog_name="ecrm", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("ECRM_DEBUG"):
            raise
        from ecrm_dsl.cli.common import ExitCode
        from ecrm_dsl.cli.redact import error_summary

        summary = error_summary(exc)
        click.echo(f"ecrm: internal error: {type(exc).__name__}: {summary} (set ECRM_DEBUG=1 for details)", err=True)
        sys.exit(ExitCode.INTERNAL)
