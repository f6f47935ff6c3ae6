"""What a rule page and ``ecrm rule`` say about a rule in the current language: its summary, its severity line,
and where its page is in each language. Light on purpose (the registry and the catalogue only), so ``ecrm rule``
and the language server can use it without loading the generator's lint machinery.

English pages are ``docs/rules/CODE.md``; the pages in another language are in a folder named after it
(``docs/rules/ja/CODE.md``), and each page links to its versions in the other languages.
"""

from __future__ import annotations

from ecrm_dsl.language import i18n
from ecrm_dsl.language.diagnostics import Rule, Severity
from ecrm_dsl.language.i18n import lookup, n_, tr

# Each language named in itself: a link to a page in that language.
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
SEVERITY_WORDS = {Severity.ERROR: n_("error"), Severity.WARNING: n_("warning")}


def summary(rule: Rule) -> str:
    """The rule's summary in the current language (the registry's English is what SARIF shows)."""
    return lookup(rule.summary)


def severity_word(rule: Rule) -> str:
    return lookup(SEVERITY_WORDS[rule.severity])


def severity_line(rule: Rule) -> str:
    """The line under a page's title: the severity in bold, then the summary."""
    if rule.severity == Severity.ERROR:
        return tr("**error** · {summary}", summary=summary(rule))
    return tr("**warning** · {summary}", summary=summary(rule))


def folder(language: str | None = None) -> str:
    """Where a language's pages are (the current one's by default), relative to ``docs/rules/``: ``""`` or
    ``"ja/"``."""
    language = i18n.language() if language is None else language
    return "" if language == i18n.DEFAULT else f"{language}/"


def other_languages(name: str, language: str) -> str:
    """Links from the page ``name`` (``E204.md``, ``README.md``) in ``language`` to the same page in the others."""
    up = "" if language == i18n.DEFAULT else "../"
    links = [f"[{LANGUAGE_NAMES[other]}]({up}{folder(other)}{name})" for other in i18n.LANGUAGES if other != language]
    return " · ".join(links)
