"""The CLI in the user's language: ``--lang`` / ``$ECRM_LANG`` / the locale, for our messages, the commands' help
and click's own words.

Help texts stay English in the code (docstrings and ``help=``); they are looked up paragraph by paragraph when a
command is loaded, so a command's summary in ``ecrm --help`` and the first paragraph of its own help are one
message. The catalogue is built from the same walk over the commands (``tests/catalogue.py``).
"""

from __future__ import annotations

import gettext
import inspect
import os
from collections.abc import Iterator
from weakref import WeakKeyDictionary

import click

from ecrm_dsl.cli.wide_text import WideTextContext, WideTextFormatter
from ecrm_dsl.language.i18n import DEFAULT, DOMAIN, LANGUAGES, LOCALE_DIR, language, lookup, negotiate, use

# Each command's and option's English help, kept so that another language can be chosen later in one process.
_ENGLISH: WeakKeyDictionary[click.Command | click.Parameter, str | None] = WeakKeyDictionary()


def speak(requested: str | None) -> None:
    """Choose the language for this process (``requested`` is ``--lang`` or ``$ECRM_LANG``)."""
    try:
        language = negotiate(requested, {k: v for k, v in os.environ.items() if k != "ECRM_LANG"})
    except ValueError:
        raise click.BadParameter(
            f"'{requested}' is not a language ecrm speaks; choose one of {', '.join(LANGUAGES)}"
        ) from None
    use(language)
    # Click words its usage lines and errors through gettext's global domain and the locale's language: point
    # both at our catalogue, which carries click's messages too.
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)
    os.environ["LANGUAGE"] = language


def help_paragraphs(text: str | None) -> list[str]:
    """A help text as click shows it, in paragraphs: each rewrapped one is one message, spaces collapsed; a
    ``\\b`` block (kept as written by click) is one message as written."""
    if not text:
        return []
    return [p if p.startswith("\b") else " ".join(p.split()) for p in inspect.cleandoc(text).split("\n\n")]


def translated_help(text: str | None) -> str | None:
    return None if text is None else "\n\n".join(lookup(p) for p in help_paragraphs(text))


def localize(command: click.Command, ctx: click.Context | None = None) -> click.Command:
    """``command`` (and its subcommands) with help in the current language; with ``ctx``, its ``--help`` option
    too, which click makes once per command, in the language of that moment (for the group: before ``--lang``
    was read)."""
    helper = command.get_help_option(ctx) if ctx is not None else None
    for item in [*_walk(command), *([helper] if helper is not None else [])]:
        english = _ENGLISH.setdefault(item, item.help)
        item.help = translated_help(english)
        if isinstance(item, click.Command):
            # English keeps click's own layout byte for byte; other languages are wrapped by display width.
            item.context_class = click.Context if language() == DEFAULT else WideTextContext
    if ctx is not None:
        ctx.formatter_class = WideTextFormatter if language() != DEFAULT else click.HelpFormatter
    return command


def short_help(command: click.Command, limit: int) -> str:
    """A command's line in ``ecrm --help``: click's shortening in English; elsewhere the first sentence, which
    the wide-text formatter wraps (click cuts at spaces counted in characters, which Japanese has few of)."""
    if language() == DEFAULT or not command.help:
        return command.get_short_help_str(limit)
    first, stop, _ = command.help.partition("。")
    return first + stop


def _walk(command: click.Command) -> Iterator[click.Command | click.Option]:
    yield command
    yield from (p for p in command.params if isinstance(p, click.Option))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from _walk(sub)


def english_help(command: click.Command) -> Iterator[str]:
    """Every help paragraph of ``command`` and its subcommands, in English (for the catalogue)."""
    for item in _walk(command):
        yield from help_paragraphs(_ENGLISH.get(item, item.help))
