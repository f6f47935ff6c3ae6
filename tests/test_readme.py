"""The README documents the language: its examples must parse, and its rule table must be complete."""

from __future__ import annotations

import re
from pathlib import Path

from ecrm_dsl.language.diagnostics import RULES
from ecrm_dsl.syntax.text import parse_text
from ecrm_dsl.syntax.yaml_frontend import parse_yaml_scenarios

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_the_setup_and_test_commands() -> None:
    first, second = (code for lang, code in BLOCKS[:2])
    assert "pip install -e" in first and "ecrm demo" in first
    assert "python -m pytest" in second
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest" in ci


def test_text_examples_parse_and_match_their_yaml_twin() -> None:
    text_blocks = [code for lang, code in BLOCKS if lang == "" and code.startswith("scenario ")]
    yaml_blocks = [code for lang, code in BLOCKS if lang == "yaml" and code.startswith("scenario:")]
    assert text_blocks and yaml_blocks
    parsed_text = []
    for code in text_blocks:
        scenarios, findings = parse_text(code, "README.md")
        assert findings == []
        parsed_text.extend(scenarios)
    twin, findings = parse_yaml_scenarios(yaml_blocks[0], "README.md")
    assert findings == []
    assert twin[0] == parsed_text[0]


def test_every_rule_is_documented() -> None:
    documented = set(re.findall(r"^\| ([EW]\d{3}) \| ([\w-]+) \|", README, flags=re.M))
    assert documented == {(rule.code, rule.name) for rule in RULES.values()}
