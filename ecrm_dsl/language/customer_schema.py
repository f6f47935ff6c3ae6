"""The customer schema as a record: the built-in catalogue extended by a project's declared attributes and events.

Reading it from ``customer_schema.yaml`` is the project layer's job (:mod:`ecrm_dsl.project.resources`); the
record lives here so that the runtime (the importer types cells by it) can use it without the front end.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecrm_dsl.language import ast, catalog


@dataclass(frozen=True)
class CustomerSchema:
    """The built-in catalog extended by the project's declared attributes and events."""

    attributes: dict[str, catalog.Attribute]
    events: dict[str, dict[str, str]]
    custom_attributes: frozenset[str] = frozenset()
    span: ast.Span = ast.NO_SPAN

    @classmethod
    def builtin(cls) -> CustomerSchema:
        return cls(dict(catalog.CUSTOMER_ATTRIBUTES), {k: dict(v) for k, v in catalog.EVENTS.items()})
