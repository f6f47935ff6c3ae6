"""Japanese and English for everything a person reads: findings and hints, CLI messages and help.

Messages are written in English in the code, wrapped in :func:`tr` (formatted with named ``{fields}``), and
looked up in the gettext catalogue ``ecrm_dsl/locale/<lang>/LC_MESSAGES/ecrm.mo`` (made from the ``.po`` beside it
with Babel; the README's Development section says how). The language is chosen once per process:
``--lang`` / ``$ECRM_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``), else English. Rule codes,
rule names, JSON keys and file formats never change with the language.
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path

DOMAIN = "ecrm"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "ja")
DEFAULT = "en"

_catalogue: gettext.NullTranslations = gettext.NullTranslations()
_language = DEFAULT


def negotiate(requested: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: ``requested`` (``--lang``), ``$ECRM_LANG``, the locale's, else English.

    An explicit choice must be one of :data:`LANGUAGES` (``ValueError`` otherwise); a locale we have no catalogue
    for means English.
    """
    env = os.environ if environ is None else environ
    for explicit in (requested, env.get("ECRM_LANG")):
        if explicit:
            code = _code(explicit)
            if code not in LANGUAGES:
                raise ValueError(f"unknown language '{explicit}': choose one of {', '.join(LANGUAGES)}")
            return code
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(variable):  # the first one set decides, as in POSIX
            code = _code(env[variable])
            return code if code in LANGUAGES else DEFAULT
    return DEFAULT


def _code(value: str) -> str:
    """``ja_JP.UTF-8`` -> ``ja``; ``C`` and ``POSIX`` are English."""
    code = value.split(".")[0].split("@")[0].split("_")[0].split("-")[0].lower()
    return DEFAULT if code in ("c", "posix") else code


def use(language: str) -> None:
    """Speak ``language`` from now on in this process."""
    global _catalogue, _language
    _language = language
    _catalogue = gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)


def language() -> str:
    return _language


def tr(message: str, /, **fields: object) -> str:
    """``message`` in the current language, with its ``{fields}`` filled in (always given by name). It is always
    formatted, so a literal brace is written ``{{`` with fields or without."""
    return _catalogue.gettext(message).format(**fields)


def trn(singular: str, plural: str, count: int, /, **fields: object) -> str:
    """The form of a message for ``count`` (English has two, Japanese one), formatted like :func:`tr`."""
    return _catalogue.ngettext(singular, plural, count).format(**fields)


def lookup(message: str) -> str:
    """A message held in a variable, in the current language. The catalogue learns such messages where they are
    written (:func:`n_`) or from the commands themselves (help texts); :func:`tr` takes literals only."""
    return _catalogue.gettext(message)


def n_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; :func:`tr` translates it where it is shown."""
    return message
