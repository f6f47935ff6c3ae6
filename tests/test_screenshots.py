"""The README's screenshots (docs/screenshots/make.py): the project they show still has the findings their
captions describe, in Japanese at the same places as in English, and the terminal is laid out on a grid where a
Japanese character takes two columns. Taking the pictures needs Chromium and code-server, so it is not done here."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _make() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshots_make", REPO / "docs" / "screenshots" / "make.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _make()


def _lint(project: Path, language: str) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = make.ecrm("--lang", language, "--color", "never", "lint", cwd=project)
    return result


def test_the_pictured_project_has_the_findings_in_japanese_where_english_has_them(tmp_path: Path) -> None:
    project = make.make_project(tmp_path)
    japanese, english = _lint(project, "ja"), _lint(project, "en")
    assert japanese.returncode == english.returncode == 1
    where = re.compile(r"^(\S+:\d+:\d+): error: .* \[(E\d{3}) ", flags=re.M)
    found = where.findall(english.stdout)
    assert found == where.findall(japanese.stdout)
    assert found == [
        ("scenarios/dormant_winback.ecrm:9:19", "E202"),
        ("scenarios/dormant_winback.ecrm:10:46", "E210"),
    ]
    # What the pictures show (the editor's lines 9 and 10 are the steps that editor_shots.py moves to).
    assert "不明なテンプレート 'repeat_cupon'" in japanese.stdout
    assert "ヒント: もしかして repeat_coupon？" in japanese.stdout
    assert "テンプレート 'repeat_coupon' にはパラメーター 'coupon_code' が必要です" in japanese.stdout
    steps = (project / "scenarios" / "dormant_winback.ecrm").read_text(encoding="utf-8").splitlines()
    assert steps[8].startswith("  day 0 at 10:00: send email repeat_cupon") and steps[9].startswith("  day 7 at")


def test_the_terminal_keeps_colours_and_gives_a_wide_character_two_columns() -> None:
    page, width, height = make.terminal_html("ecrm lint", "\x1b[1;31merror\x1b[0m: 不明 \x1b[2m[E202]\x1b[0m\n")
    assert 'style="color:#cd3131;font-weight:bold">error</span>' in page
    assert '<span class="wide">不</span><span class="wide">明</span>' in page
    assert 'style="opacity:.6">[E202]</span>' in page
    # "error: 不明 [E202]" is 18 columns, the prompt line shorter: the window fits the longest line.
    assert width == int(18 * make.CHAR_WIDTH) + 32 and height > 2 * make.LINE_HEIGHT
    assert ".wide { font-size: 16px; letter-spacing: 0.856px; }" in page


def test_make_says_how_to_run_it() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / "screenshots" / "make.py"), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "python docs/screenshots/make.py terminal" in done.stderr
