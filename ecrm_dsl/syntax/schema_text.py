"""The JSON Schemas of the project's files as an editor reads them: their titles and descriptions in the current
language (``ecrm --lang ja schema export`` gives a Japanese YAML editor Japanese hover text and completion notes).

Only the words change; every keyword that validates stays as it is, so the translated schema accepts exactly
what the English one does. The ``x-message`` of a ``oneOf`` (what E100 says when no form fits) is prose too.
"""

from __future__ import annotations

import gettext
import json
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from ecrm_dsl.language.i18n import DOMAIN, LOCALE_DIR, language
from ecrm_dsl.syntax.yaml_schema import SCHEMA_KINDS, schema_path

# The keys whose string values are prose for people (the catalogue carries them); everything else is schema.
TEXT_KEYS = ("title", "description", "markdownDescription", "x-message")


def english_schema(kind: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(schema_path(kind).read_text(encoding="utf-8"))
    return document


def localized_schema(kind: str, in_language: str | None = None) -> dict[str, Any]:
    """The schema of ``kind`` with its prose in ``in_language`` (by default the current language)."""
    return _translate(english_schema(kind), words(in_language or language()))


@cache
def words(in_language: str) -> Callable[[str], str]:
    """Looks a message up in ``in_language``'s catalogue, whatever the language of the process: W801 compares a
    project's schema copies with both languages' schemas."""
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[in_language], fallback=True).gettext


def _translate(node: Any, word: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        return {
            key: word(value) if key in TEXT_KEYS and isinstance(value, str) else _translate(value, word)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_translate(item, word) for item in node]
    return node


def schema_texts() -> Iterator[tuple[str, str]]:
    """(kind, text) for every piece of prose in the project files' schemas, for the catalogue."""
    for kind in SCHEMA_KINDS:
        yield from ((kind, text) for text in _texts(english_schema(kind)))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in TEXT_KEYS and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)
