"""Fuzzing the front end: valid sources, mutated, never make lint raise, and every finding is positioned.

The seeds are the example project (scenarios/, its segments, templates, schema and policies) and the corpus of
every construct (tests/golden/constructs/). Each example takes one seed, applies a few mutations that are known
to hurt parsers (cut, duplicate, insert syntax, repeat a token hundreds of times to nest deeply) and lints a
small real project holding the result. The run is bounded and derandomized, so CI sees the same inputs every
time; ECRM_FUZZ_EXAMPLES raises the count for a longer hunt.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm_dsl.language.diagnostics import RULES, DiagnosticError
from ecrm_dsl.project.config import load_config
from ecrm_dsl.project.lint import lint

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "rules_project"
EXAMPLES = int(os.environ.get("ECRM_FUZZ_EXAMPLES", "300"))


@dataclass(frozen=True)
class Seed:
    target: str  # where the mutated text goes in the project
    text: str


def _seeds() -> list[Seed]:
    found = []
    examples = ROOT / "scenarios"
    for path in sorted(examples.iterdir()):
        if path.name in ("customer_schema.yaml", "policies.yaml"):
            found.append(Seed(path.name, path.read_text(encoding="utf-8")))
        elif path.suffix in (".yaml", ".ecrm"):
            found.append(Seed(f"scenarios/fuzz{path.suffix}", path.read_text(encoding="utf-8")))
    for kind in ("segments", "templates"):
        for path in sorted((examples / kind).glob("*.yaml")):
            found.append(Seed(f"{kind}/fuzz.yaml", path.read_text(encoding="utf-8")))
    for path in sorted((ROOT / "tests" / "golden" / "constructs").iterdir()):
        if path.suffix in (".yaml", ".ecrm"):
            found.append(Seed(f"scenarios/fuzz{path.suffix}", path.read_text(encoding="utf-8")))
    return found


SEEDS = _seeds()

# Pieces that parsers of these languages trip over: nesting, YAML indicators, tabs, anchors, tags, literals at
# and past their ranges, Japanese text, a BOM, suppression comments.
PIECES = [
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "\t",
    "\n",
    "  ",
    "&a ",
    "*a",
    "<<: ",
    "!!python/object/apply:os.system ",
    "---\n",
    "not ",
    "and ",
    " or ",
    "==",
    " in [",
    " between ",
    " is not null",
    "2025-02-30",
    "2025-02-29",
    "24:00",
    "10pct",
    "10 %",
    "150%",
    "¥",
    "3000円",
    '"',
    "'",
    "#",
    "# ecrm: ignore[E204]",
    "@",
    "\ufeff",
    "顧客",
    "99999999999999999999",
    "99999999999999999999d",
    "¥99999999999999999999",
    "9999999999円",
    "-1",
    "+",
    "1e309",
    "day ",
    "if ",
    "send email ",
    "wait for order.placed timeout 1d { on event { ",
    "branch: [{if: x, steps: [",
    "has_tag(",
    "customer.",
    "null",
    "~",
    "|\n",
    ">-\n",
]


@st.composite
def mutated(draw: st.DrawFn) -> Seed:
    seed = draw(st.sampled_from(SEEDS))
    text = seed.text
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        size = draw(st.integers(0, 40))
        piece = draw(st.sampled_from(PIECES) | st.text(min_size=1, max_size=6))
        operation = draw(st.sampled_from(["delete", "insert", "replace", "duplicate", "repeat", "swap_lines"]))
        if operation == "delete":
            text = text[:at] + text[at + size :]
        elif operation == "insert":
            text = text[:at] + piece + text[at:]
        elif operation == "replace":
            text = text[:at] + piece + text[at + size :]
        elif operation == "duplicate":
            text = text[:at] + text[at : at + size] * draw(st.integers(2, 50)) + text[at:]
        elif operation == "repeat":  # nesting and length far past any limit
            text = text[:at] + piece * draw(st.integers(50, 600)) + text[at:]
        else:
            lines = text.split("\n")
            i, j = (draw(st.integers(0, len(lines) - 1)) for _ in range(2))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return Seed(seed.target, text)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("fuzz") / "project"
    shutil.copytree(FIXTURE, root)
    (root / "scenarios").mkdir()
    yield root


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=mutated())
def test_lint_never_raises_and_positions_every_finding(project: Path, case: Seed) -> None:
    target = project / case.target
    original = target.read_bytes() if target.exists() else None
    target.write_text(case.text, encoding="utf-8", errors="surrogatepass")
    try:
        result = lint(load_config(project / "ecrm.toml"))
    finally:
        if original is None:
            target.unlink()
        else:
            target.write_bytes(original)
    for finding in result.diagnostics:
        assert finding.code in RULES, finding
        assert finding.span.file, finding
        assert finding.span.line >= 1 and finding.span.column >= 1, finding
        assert finding.message, finding


CONFIG_SEEDS = [
    (FIXTURE / "ecrm.toml").read_text(encoding="utf-8"),
    'scenarios = "scenarios"\npresets = ["presets"]\n[rules]\nselect = ["E", "W5"]\nignore = ["W506"]\n'
    '[rules.per-file-ignores]\n"scenarios/legacy_*.yaml" = ["W507"]\n',
    '[project]\nname = "shop"\n[tool.ecrm]\nscenarios = "scenarios"\n[tool.ecrm.rules]\nselect = ["E"]\n',
]
CONFIG_PIECES = ["[", "]", "{", "}", "=", '"', "'", "\n", "[rules]", "[tool.ecrm]", "..", "/", "1", "true", "#", ","]


@st.composite
def mutated_config(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(CONFIG_SEEDS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.sampled_from(CONFIG_PIECES) | st.text(min_size=1, max_size=4))
        count = draw(st.sampled_from([1, 1, 2, 40]))
        text = text[:at] + piece * count + text[at + draw(st.integers(0, 10)) :]
    return text


@settings(
    max_examples=max(EXAMPLES // 2, 1),
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=mutated_config())
def test_a_broken_configuration_is_a_positioned_finding(project: Path, text: str) -> None:
    config = project / ("pyproject.toml" if text.startswith("[project]") else "fuzz.toml")
    config.write_text(text, encoding="utf-8")
    try:
        load_config(config)
    except DiagnosticError as exc:
        for finding in exc.diagnostics:
            assert finding.code in RULES, finding
            assert finding.span.line >= 1 and finding.span.column >= 1, finding
    finally:
        config.unlink()
