"""The compiled schema check that lets valid documents skip jsonschema must never let an invalid one through.

Every YAML document in the repository (examples, starter, presets, golden cases, fixtures) and systematic
mutations of each (a key removed, a value of another type, an unknown key) are judged by both validators:
whatever the compiled check accepts, jsonschema must accept too, and the documents jsonschema accepts take the
fast path. jsonschema stays the reference for the messages.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecrm_dsl.language.diagnostics import DiagnosticError
from ecrm_dsl.syntax.yaml_schema import _surely_valid, _validator
from ecrm_dsl.syntax.yaml_source import load_yaml

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = [ROOT / "scenarios", ROOT / "ecrm_dsl" / "starter", ROOT / "ecrm_dsl" / "presets", ROOT / "tests"]
KIND_BY_KEY = {
    "scenario": "scenario",
    "segment": "segment",
    "template": "template",
    "customer_schema": "customer_schema",
    "preset": "preset",
    "timezone": "policies",
}
OTHER_VALUES: tuple[Any, ...] = ("text", 7, 1.5, True, None, [], {}, ["x"], {"x": 1})


def corpus() -> Iterator[tuple[str, str, Any]]:
    """(where, kind, data) for every YAML document whose top-level key says what it is."""
    for folder in FOLDERS:
        for path in sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()):
            if path.stat().st_size > 200_000:
                continue
            try:
                documents = load_yaml(path.read_text(encoding="utf-8"), str(path))
            except (DiagnosticError, UnicodeDecodeError):
                continue
            for index, doc in enumerate(documents):
                if isinstance(doc.data, dict):
                    kind = next((KIND_BY_KEY[k] for k in doc.data if k in KIND_BY_KEY), None)
                    if kind is not None:
                        yield f"{path.relative_to(ROOT)}#{index}", kind, doc.data


def mutations(data: Any) -> Iterator[Any]:
    """Each mapping without one of its keys or with an unknown key, and each value replaced by other kinds."""
    yield from _mutate(data, lambda replaced: replaced)


def _mutate(node: Any, rebuild: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key in node:
            yield rebuild({k: v for k, v in node.items() if k != key})
            for other in OTHER_VALUES:
                if type(other) is not type(node[key]):
                    yield rebuild({**node, key: other})
            yield from _mutate(node[key], lambda value, key=key: rebuild({**node, key: value}))
        yield rebuild({**node, "unknown_key": 1})
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield rebuild(node[:index] + node[index + 1 :])
            for other in OTHER_VALUES[:5]:
                yield rebuild([*node[:index], other, *node[index + 1 :]])
            yield from _mutate(item, lambda value, index=index: rebuild([*node[:index], value, *node[index + 1 :]]))


DOCUMENTS = list(corpus())


def test_the_corpus_covers_every_kind() -> None:
    assert {kind for _, kind, _ in DOCUMENTS} == set(KIND_BY_KEY.values())
    assert len(DOCUMENTS) > 100


@pytest.mark.parametrize(("where", "kind", "data"), DOCUMENTS, ids=[d[0] for d in DOCUMENTS])
def test_both_validators_agree_on_the_document_and_never_pass_a_mutant_jsonschema_rejects(
    where: str, kind: str, data: Any
) -> None:
    reference = _validator(kind)
    assert _surely_valid(data, kind) == reference.is_valid(data), where
    for mutant in mutations(copy.deepcopy(data)):
        if _surely_valid(mutant, kind):
            assert reference.is_valid(mutant), (where, mutant)


def test_the_compiled_check_leaves_the_document_as_it_was() -> None:
    data = {"template": "t", "category": "marketing", "params": {"rate": {"type": "int"}}, "channels": {}}
    before = copy.deepcopy(data)
    _surely_valid(data, "template")  # the schema has a "default": fastjsonschema must not write it in
    assert data == before
