"""``ecrm diff --format markdown`` as a pull-request comment: under the size limit (characters, as GitHub counts),
deterministic, saying what it cut; highlighted diagrams that Mermaid's own parser reads with the right classes.

The big case is a generated project of 60 scenarios with Japanese titles whose every scenario changes, so the
full comment (with two diagrams each) is far over GitHub's 65,536 characters.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from ecrm_dsl.cli.diff_cmd import diff_command
from tests.test_graph_mermaid import mermaid_dir, run_check

GOLDEN = Path(__file__).parent / "golden" / "diff"
SCENARIOS = 60
NOTE = "> Shortened to stay under GitHub's comment size limit"

__all__ = ["mermaid_dir"]  # the fixture, shared with the graph's own Mermaid test


def run(cwd: Path, *args: str) -> Result:
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(diff_command, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def _scenario(index: int, day: int, extra: bool, season: str) -> str:
    reminder = "  day 10 at 10:00: send email survey_reminder\n" if extra else ""
    return (
        f"# 生成したシナリオ {index}\n"
        f'scenario s{index:03d} "会員登録後のご案内 その{index}'
        f'({season}のキャンペーン、全国の店舗とオンラインストアで)" {{\n'
        "  kind nurture\n"
        '  owner "CRMチーム 山田"\n'
        "  when customer.signed_up where customer.email_opt_in == true\n"
        "  goal order.placed within 14d\n"
        "  day 0 at 10:00: send email welcome\n"
        f"  day {day} at 10:00: send email tips_general\n"
        '  @route if customer.persona == "parenting" {\n'
        "    send line tips_parenting fallback email\n"
        "  } else {\n"
        '    send email first_coupon with { coupon_code = "WELCOME5" }\n'
        "  }\n"
        f"{reminder}"
        "}\n"
    )


def _project(folder: Path, day: int, extra: bool, season: str) -> None:
    shutil.copytree(GOLDEN / "onboarding_flow" / "before", folder)
    (folder / "scenarios" / "onboarding.ecrm").unlink()
    for index in range(SCENARIOS):
        (folder / "scenarios" / f"s{index:03d}.ecrm").write_text(_scenario(index, day, extra, season), encoding="utf-8")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = tmp_path_factory.mktemp("big")
    _project(case / "before", 3, False, "春")
    _project(case / "after", 2, True, "夏")
    return case


@pytest.fixture(scope="module")
def full(big: Path) -> str:
    result = run(big, "before", "after", "--format", "markdown", "--max-size", "0")
    assert result.exit_code == 1, result.output
    return result.stdout


def test_the_whole_comment_is_over_githubs_limit(full: str) -> None:
    assert len(full) > 65_536 and NOTE not in full
    assert full.count("```mermaid") == 2 * SCENARIOS


def test_the_default_limit_leaves_out_diagrams_first_and_says_so(big: Path, full: str) -> None:
    first = run(big, "before", "after", "--format", "markdown")
    again = run(big, "before", "after", "--format", "markdown")
    assert first.exit_code == again.exit_code == 1
    text = first.stdout
    assert text == again.stdout  # same input, same bytes
    assert len(text) <= 60_000 < len(full)
    assert text.startswith("<!-- ecrm-diff -->\n### ecrm diff: 60 scenarios changed")
    assert "```mermaid" not in text
    note = next(line for line in text.splitlines() if line.startswith(NOTE))
    assert (
        note.startswith(f"{NOTE}: the flow diagrams are left out.")
        and "ecrm diff before after --format markdown --max-size 0 > full.md" in note
    )
    # each scenario's details are still there, folded
    assert text.count("<details>") == SCENARIOS
    assert "`tips_general` moved from `day 3 at 10:00` to `day 2 at 10:00` (1 day earlier)" in text


def test_a_smaller_limit_drops_details_then_subjects(big: Path) -> None:
    one_line_each = run(big, "before", "after", "--format", "markdown", "--max-size", "6000").stdout
    assert len(one_line_each) <= 6_000
    assert "<details>" not in one_line_each and "per-change details" in one_line_each
    assert one_line_each.count("\n- `s0") == SCENARIOS
    cut = run(big, "before", "after", "--format", "markdown", "--max-size", "2000").stdout
    assert len(cut) <= 2_000
    shown = cut.count("\n- `s0")
    assert 0 < shown < SCENARIOS
    assert f"only the first {shown} of {SCENARIOS + 1} changed subjects are listed" in cut  # and the Files block
    assert f"… and {SCENARIOS + 1 - shown} more changed subjects, not shown here." in cut


def test_the_limit_counts_characters_not_bytes(big: Path, full: str) -> None:
    without_diagrams = run(big, "before", "after", "--format", "markdown", "--no-mermaid", "--max-size", "0").stdout
    size = len(without_diagrams)
    assert len(without_diagrams.encode("utf-8")) > size + 2_000  # Japanese: three bytes a character
    exact = run(big, "before", "after", "--format", "markdown", "--no-mermaid", "--max-size", str(size))
    assert exact.stdout == without_diagrams  # fits to the character: nothing cut
    over = run(big, "before", "after", "--format", "markdown", "--no-mermaid", "--max-size", str(size - 1)).stdout
    assert len(over) < size and NOTE in over
    assert "flow diagrams" not in over  # they were not asked for, so they are not said to be cut


def test_a_limit_too_small_to_say_anything_is_refused(big: Path) -> None:
    result = run(big, "before", "after", "--format", "markdown", "--max-size", "500")
    assert result.exit_code == 2 and "--max-size 500: give at least 2,000 characters" in result.stderr


# --------------------------------------------------------------------------- highlighted diagrams


def _mermaid_blocks(markdown: str) -> list[tuple[str, str]]:
    """(label line before it, diagram) for each ```mermaid fence."""
    found = re.findall(r"\n([^\n]+):\n\n```mermaid\n(.*?)\n```", markdown, flags=re.S)
    return [(label, body) for label, body in found]


def _classes(result: dict[str, Any]) -> dict[str, list[str]]:
    """First line of each box's label -> its classes."""
    return {re.split(r"<br>", v[2])[0]: v[3] for v in result["vertices"]}


def test_highlighted_diagrams_parse_with_the_changed_boxes_classed(mermaid_dir: Path, tmp_path: Path) -> None:
    markdown = run(GOLDEN / "onboarding_flow", "before", "after", "--format", "markdown").stdout
    blocks = _mermaid_blocks(markdown)
    assert [label for label, _ in blocks] == ["Before", "After"]
    files = []
    for index, (_, body) in enumerate(blocks):
        path = tmp_path / f"{index}.mmd"
        path.write_text(body, encoding="utf-8")
        files.append(path)
    before, after = run_check(mermaid_dir, tmp_path, files)
    assert "error" not in before and "error" not in after, (before, after)
    old, new = _classes(before), _classes(after)
    assert new["tips_student"] == ["added"] and new["done"] == ["exit", "added"]
    assert old["pause"] == ["wait", "changed"] and new["pause"] == ["wait", "changed"]  # 2d → 3d
    assert old["welcome"] == [] and new["welcome"] == []  # unchanged steps stay plain
    assert "changed" in new["kind sell · owner CRMチーム 田中"]  # kind, goal, holdout … in the side note
    assert "classDef added fill:#aceebb" in markdown and "classDef changed fill:#ffdf9e" in markdown


def test_a_removed_step_is_marked_in_the_before_diagram(mermaid_dir: Path, tmp_path: Path) -> None:
    markdown = run(GOLDEN / "onboarding_flow", "after", "before", "--format", "markdown").stdout
    (_, old_body), (_, new_body) = _mermaid_blocks(markdown)
    (tmp_path / "old.mmd").write_text(old_body, encoding="utf-8")
    (before,) = run_check(mermaid_dir, tmp_path, [tmp_path / "old.mmd"])
    assert "error" not in before
    assert _classes(before)["tips_student"] == ["removed"]
    assert "removed" not in new_body


def test_a_flow_that_did_not_change_is_drawn_once(tmp_path: Path) -> None:
    pytest.importorskip("ecrm_dsl.review.graph")
    for side in ("before", "after"):
        shutil.copytree(GOLDEN / "f2_release" / "after", tmp_path / side)
    policies = tmp_path / "after" / "policies.yaml"
    text = policies.read_text(encoding="utf-8")
    policies.write_text(
        text.replace(
            "  - birthday_coupon\n  - dormant_150_winback\n", "  - dormant_150_winback\n  - birthday_coupon\n"
        ),
        encoding="utf-8",
    )
    markdown = run(tmp_path, "before", "after", "--format", "markdown").stdout
    assert "1 scenario changed; policies changed" in markdown  # dormant_150_winback #4 → #3
    assert markdown.count("The flow did not change:") == 1
    assert markdown.count("```mermaid") == 1 and "Before:" not in markdown
    assert "classDef changed" not in markdown  # a rank is not in the diagram
