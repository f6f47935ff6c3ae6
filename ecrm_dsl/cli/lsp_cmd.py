"""``ecrm lsp``: the language server, for editors."""

from __future__ import annotations

import click

from ecrm_dsl.language.i18n import tr


@click.command("lsp")
@click.option(
    "--tcp",
    "address",
    metavar="HOST:PORT",
    help="Listen on a TCP socket instead of stdio (for debugging a client; editors use stdio).",
)
def lsp_command(address: str | None) -> None:
    """Run the language server for .ecrm and the project's YAML files (LSP over stdio).

    An editor starts it as the command `ecrm lsp` and speaks the Language Server Protocol on its standard input
    and output: diagnostics from the same checks as `ecrm lint` (the project found upward from each file, unsaved
    buffers included), completion, hover, go to definition, formatting as `ecrm fmt`, and quick fixes. Positions
    are UTF-16 code units unless the editor offers UTF-8. Needs the lsp extra: pip install 'ecrm-dsl[lsp]'.
    """
    try:
        from ecrm_dsl.lsp.server import build_server
    except ImportError as exc:  # pygls is an optional dependency
        raise click.ClickException(
            tr("{package} is not installed; install it with: pip install 'ecrm-dsl[lsp]'", package=exc.name)
        ) from None
    server = build_server()
    if address is None:
        server.start_io()
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise click.BadParameter(tr("give it as HOST:PORT, e.g. 127.0.0.1:2087"), param_hint="--tcp")
    server.start_tcp(host, int(port))
