"""Where each rule's page is published, for SARIF's ``helpUri`` and JSON's ``help_uri``.

The base is the package's ``Documentation`` Project-URL (``[project.urls]`` in pyproject.toml): the pages are
``docs/rules/CODE.md`` below it. An installation without that metadata links to the same place.
"""

from __future__ import annotations

from functools import cache

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


def rule_page_uri(code: str) -> str:
    """The published page of rule ``code``."""
    return f"{documentation_base()}{RULE_PAGES}/{code}.md"
