"""Whether a stream is a person's terminal, and so gets colour and progress bars.

Colour follows, in order: ``--color always|never`` on the ``ecrm`` group; ``NO_COLOR`` (any non-empty value,
no-color.org) switches it off and ``FORCE_COLOR`` on; ``TERM=dumb`` off; otherwise a terminal gets colour and a
pipe or file does not. Whatever is decided, the words are the same: a pipe gets exactly the plain text.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from typing import IO

import click

COLOR_CHOICES = ("auto", "always", "never")


def is_terminal(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty is not None else False
    except ValueError:  # a closed stream
        return False


def wants_color(stream: IO[str], choice: str = "auto", environ: Mapping[str, str] = os.environ) -> bool:
    """Whether text written to ``stream`` should carry colour (the rules in this module's docstring)."""
    if choice != "auto":
        return choice == "always"
    if environ.get("NO_COLOR"):
        return False
    if environ.get("FORCE_COLOR", "0") not in ("", "0", "false"):
        return True
    if environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream)


def shows_progress(environ: Mapping[str, str] = os.environ) -> bool:
    """Progress bars go to standard error, and only when it is a terminal: never into a pipe or a CI log."""
    return environ.get("TERM") != "dumb" and is_terminal(sys.stderr)


def color_choice() -> str:
    """The ``--color`` given to the ``ecrm`` group (``auto`` outside a command, as in tests of a renderer)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return str(obj.get("color", "auto")) if isinstance(obj, dict) else "auto"


def color_on(*, err: bool = False) -> bool:
    """Whether this command's standard output (or error, with ``err``) gets colour."""
    return wants_color(sys.stderr if err else sys.stdout, color_choice())


def echo_painted(text: str, paint: Callable[[str], str], *, err: bool = False, nl: bool = True) -> None:
    """``text`` as ``click.echo`` writes it, painted by ``paint`` when the stream gets colour."""
    if color_on(err=err):
        click.echo(paint(text), nl=nl, err=err, color=True)  # click would strip the codes from a pipe
    else:
        click.echo(text, nl=nl, err=err)
