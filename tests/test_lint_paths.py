"""``ecrm lint PATHS``: each named file is read as what the project says it is (a preset is no scenario)."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.test_lint_ci import ROOT, edit, make_project, run_cli

SHIPPED_PRESET = ROOT / "ecrm_dsl" / "presets" / "f2_step_mail.yaml"
PRESET = "presets/my_f2.yaml"


def project_with_preset(folder: Path) -> Path:
    """The starter project with its own preset folder holding a copy of the shipped F2 preset as ``my_f2``."""
    project = make_project(folder)
    with (project / "ecrm.toml").open("a", encoding="utf-8") as toml:
        toml.write('presets = ["presets"]\n')
    (project / "presets").mkdir()
    shutil.copy(SHIPPED_PRESET, project / PRESET)
    edit(project / PRESET, "preset: f2_step_mail", "preset: my_f2")
    return project


def test_a_preset_named_by_path_is_linted_as_a_preset(tmp_path: Path) -> None:
    project = project_with_preset(tmp_path / "shop")
    for args in [(PRESET,), ("--only-project-files", PRESET), ("presets",)]:
        run = run_cli("lint", *args, cwd=project)
        assert (run.code, run.stdout) == (0, "1 file checked: no findings\n"), (args, run.stdout)


def test_a_broken_preset_named_by_path_gets_its_own_finding(tmp_path: Path) -> None:
    project = project_with_preset(tmp_path / "shop")
    edit(project / PRESET, "preset: my_f2\n", "preset: my_f2\nbogus: 1\n")
    run = run_cli("lint", "--only-project-files", PRESET, cwd=project)
    assert run.code == 1
    assert run.stdout.count("[E100 schema]") == 1, run.stdout
    assert f"{PRESET}:3:1: error: unknown key 'bogus' in the document [E100 schema]" in run.stdout
    assert run.stdout.endswith("1 file checked: 1 error, 0 warnings\n")


def test_a_file_outside_the_resource_folders_is_still_read_as_a_scenario(tmp_path: Path) -> None:
    project = project_with_preset(tmp_path / "shop")
    (project / "draft.yaml").write_text("preset: my_f2\n", encoding="utf-8")
    run = run_cli("lint", "draft.yaml", cwd=project)
    assert run.code == 1 and "draft.yaml:1:1: error: unknown key 'preset'" in run.stdout, run.stdout
