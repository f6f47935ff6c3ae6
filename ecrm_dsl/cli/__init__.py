"""The ``ecrm`` command line (click). Nothing else in the package imports this module."""

from __future__ import annotations

import os
import sys

import click

from ecrm_dsl.cli.common import ExitCode
from ecrm_dsl.cli.compile_cmd import compile_command
from ecrm_dsl.cli.convert_cmd import convert_command
from ecrm_dsl.cli.demo_cmd import demo_command
from ecrm_dsl.cli.diff_cmd import diff_command
from ecrm_dsl.cli.fmt_cmd import fmt_command
from ecrm_dsl.cli.graph_cmd import graph_command
from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.cli.init_cmd import init_command
from ecrm_dsl.cli.lint_cmd import lint_command
from ecrm_dsl.cli.report_cmd import report_command
from ecrm_dsl.cli.runtime_cmds import deploy_command, explain_command, run_command, status_command
from ecrm_dsl.cli.simulate_cmd import simulate_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, exists=True),
    help="ecrm.toml or pyproject.toml to use (default: the nearest one above the current folder).",
)
@click.version_option(package_name="ecrm-dsl")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """ecrm-dsl: CRM scenarios as code — lint, compile and convert scenario files."""
    ctx.obj = {"config_path": config_path}


cli.add_command(lint_command)
cli.add_command(compile_command)
cli.add_command(convert_command)
cli.add_command(init_command)
cli.add_command(deploy_command)
cli.add_command(status_command)
cli.add_command(run_command)
cli.add_command(explain_command)
cli.add_command(demo_command)
cli.add_command(graph_command)
cli.add_command(diff_command)
cli.add_command(fmt_command)
cli.add_command(import_command)
cli.add_command(simulate_command)
cli.add_command(report_command)


def main() -> None:
    """Entry point: click's own usage errors exit 2; anything unexpected is one line, never a traceback."""
    try:
        cli.main(prog_name="ecrm", standalone_mode=True)
    except SystemExit:
        raise
    except Exception as exc:
        if os.environ.get("ECRM_DEBUG"):
            raise
        click.echo(f"ecrm: internal error: {type(exc).__name__}: {exc} (set ECRM_DEBUG=1 for details)", err=True)
        sys.exit(ExitCode.INTERNAL)
