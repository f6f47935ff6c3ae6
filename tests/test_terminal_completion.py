"""Shell completion as the README documents it: the scripts bash, zsh and fish load, and what the real ``ecrm``
answers them (click's protocol: one ``type,value`` per line; ``file`` leaves the file names to the shell)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pty_cli import run_piped

ROOT = Path(__file__).resolve().parent.parent


def complete(words: str, cwd: Path) -> list[str]:
    """What ``ecrm`` offers bash for the last word of ``words`` (a trailing space: a new, empty word)."""
    cword = len(words.split()) - (0 if words.endswith(" ") else 1)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "_ECRM_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(cword),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl"], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("completion") / "shop"
    assert run_piped("init", str(root), cwd=root.parent).returncode == 0
    return root


def test_a_command_name(shop: Path) -> None:
    assert complete("ecrm lin", shop) == ["plain,lint"]
    names = ["schema", "segment", "send-test", "serve", "simulate", "status", "store"]
    assert complete("ecrm s", shop) == [f"plain,{name}" for name in names]
    assert complete("ecrm segment ex", shop) == ["plain,export"]
    assert complete("ecrm --color ", shop) == ["plain,auto", "plain,always", "plain,never"]


def test_a_scenario_file_is_left_to_the_shells_file_names(shop: Path) -> None:
    assert (shop / "scenarios" / "f2_step_mail.ecrm").is_file()
    assert complete("ecrm lint scenarios/f2", shop) == ["file,scenarios/f2"]
    assert complete("ecrm convert scenarios/", shop) == ["file,scenarios/"]
    assert complete("ecrm import customers ", shop) == ["file,"]


def test_a_segment_name_for_segment_export_is_not_completed_today(shop: Path) -> None:
    # The NAME argument has no completion of its own: the shell offers nothing (and no file names either).
    assert (shop / "segments" / "dormant_90.yaml").is_file()
    assert complete("ecrm segment export dor", shop) == []
    assert "plain,--store" in complete("ecrm segment export --", shop)


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_readme_lines_give_each_shell_its_script(shell: str, shop: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_ECRM_COMPLETE": f"{shell}_source"}
    script = subprocess.run(
        [sys.executable, "-m", "ecrm_dsl"], cwd=shop, env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert "_ECRM_COMPLETE" in script
    assert f"{shell}_complete" in script
    if shell == "bash" and shutil.which("bash"):
        # The script loads in a real bash and registers the completion for `ecrm`.
        check = subprocess.run(
            ["bash", "-c", 'eval "$1" && complete -p ecrm', "_", script], capture_output=True, text=True, timeout=60
        )
        assert check.returncode == 0, check.stderr
        assert "_ecrm_completion" in check.stdout
