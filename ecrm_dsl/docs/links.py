"""Where each rule's page is published, for SARIF's ``helpUri``, JSON's ``help_uri`` and the language server.

The base is the package's ``Documentation`` Project-URL (``[project.urls]`` in pyproject.toml): the pages are
``docs/rules/CODE.md`` below it, in Japanese ``docs/rules/ja/CODE.md``. An installation without that metadata links
to the same place. SARIF and JSON always link the English page (their output does not change with the language;
each page links to its translation); the language server links the page in the editor's language.
"""

from __future__ import annotations

from functools import cache

from ecrm_dsl.docs.wording import folder
from ecrm_dsl.language.i18n import DEFAULT

PACKAGE = "ecrm-dsl"
DOCUMENTATION = "https://github.com/ecrm-dsl/ecrm-dsl/blob/main/"  # the Documentation Project-URL
RULE_PAGES = "docs/rules"


@cache
def documentation_base() -> str:
    """The documentation's base URL, ending in ``/``."""
    from importlib import metadata  # only when a link is written: plain text output never needs it

    try:
        urls = metadata.metadata(PACKAGE).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for label, _, url in (entry.partition(",") for entry in urls):
        if label.strip().lower() == "documentation" and url.strip().startswith("https://"):
            return url.strip().rstrip("/") + "/"
    return DOCUMENTATION


def rule_page_uri(code: str, language: str = DEFAULT) -> str:
    """The published page of rule ``code``, in English or ``language``."""
    return f"{documentation_base()}{RULE_PAGES}/{folder(language)}{code}.md"
