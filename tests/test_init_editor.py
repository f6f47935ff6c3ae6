"""Editor settings from ``ecrm init`` and ``ecrm schema``: schema copies in the project, VS Code settings that map
them to the folders the configuration names (merged into existing settings, never clobbering a file with
comments), and the copies really validate the example files through that mapping with check-jsonschema, the
way yaml-language-server picks a schema for a file."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.project.editor_files import EDITOR_SCHEMA_KINDS, package_version

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "scenarios"


def ecrm(cwd: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(cwd)
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_init_writes_schema_copies_and_vscode_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = ecrm(tmp_path, "init", "shop", monkeypatch=monkeypatch)
    assert code == 0
    shop = tmp_path / "shop"
    assert "created shop/.vscode/settings.json" in out
    settings = json.loads((shop / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["files.associations"] == {"*.ecrm": "ecrm"}
    assert settings["yaml.schemas"] == {
        ".ecrm/schemas/scenario.schema.json": ["scenarios/*.yaml", "scenarios/*.yml"],
        ".ecrm/schemas/segment.schema.json": ["segments/*.yaml", "segments/*.yml"],
        ".ecrm/schemas/template.schema.json": ["templates/*.yaml", "templates/*.yml"],
        ".ecrm/schemas/customer_schema.schema.json": ["customer_schema.yaml"],
        ".ecrm/schemas/policies.schema.json": ["policies.yaml"],
    }
    recommended = json.loads((shop / ".vscode" / "extensions.json").read_text(encoding="utf-8"))
    assert recommended == {"recommendations": ["ecrm-dsl.ecrm-dsl", "redhat.vscode-yaml"]}
    for kind in EDITOR_SCHEMA_KINDS:
        copy = json.loads((shop / ".ecrm" / "schemas" / f"{kind}.schema.json").read_text(encoding="utf-8"))
        assert f"ecrm-dsl {package_version()}" in copy["$comment"]
        assert "$id" not in copy  # its base URI is where it lies, so relative $refs resolve on disk
    # The starter's own YAML files (its scenario is a .ecrm file) are valid through the mapping.
    validated = set()
    for schema, globs in settings["yaml.schemas"].items():
        files = sorted({path for glob in globs for path in shop.glob(glob)})
        if files:
            done = check_jsonschema(shop / schema, files, cwd=tmp_path)
            assert done.returncode == 0, done.stdout + done.stderr
            validated.add(Path(schema).name.removesuffix(".schema.json"))
    assert validated == {"segment", "template", "customer_schema", "policies"}
    # The project still lints clean: the copies are current.
    code, out, _ = ecrm(shop, "lint", monkeypatch=monkeypatch)
    assert (code, out.splitlines()[-1]) == (0, "6 files checked: no findings")


def test_init_no_editor_writes_no_editor_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, _ = ecrm(tmp_path, "init", "shop", "--no-editor", monkeypatch=monkeypatch)
    assert code == 0
    assert (tmp_path / "shop" / "ecrm.toml").is_file()
    assert not (tmp_path / "shop" / ".vscode").exists()
    assert not (tmp_path / "shop" / ".ecrm").exists()


def test_existing_settings_are_merged_without_losing_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    vscode = tmp_path / "shop" / ".vscode"
    vscode.mkdir(parents=True)
    (vscode / "settings.json").write_text(
        json.dumps(
            {
                "editor.tabSize": 2,
                "files.associations": {"*.tpl": "html"},
                "yaml.schemas": {"https://json.schemastore.org/github-workflow.json": ".github/workflows/*"},
            }
        ),
        encoding="utf-8",
    )
    (vscode / "extensions.json").write_text('{"recommendations": ["ms-python.python"]}', encoding="utf-8")
    code, out, _ = ecrm(tmp_path, "init", "shop", monkeypatch=monkeypatch)
    assert code == 0
    assert "updated shop/.vscode/settings.json" in out
    settings = json.loads((vscode / "settings.json").read_text(encoding="utf-8"))
    assert settings["editor.tabSize"] == 2
    assert settings["files.associations"] == {"*.tpl": "html", "*.ecrm": "ecrm"}
    assert settings["yaml.schemas"]["https://json.schemastore.org/github-workflow.json"] == ".github/workflows/*"
    assert settings["yaml.schemas"][".ecrm/schemas/scenario.schema.json"] == ["scenarios/*.yaml", "scenarios/*.yml"]
    recommended = json.loads((vscode / "extensions.json").read_text(encoding="utf-8"))["recommendations"]
    assert recommended == ["ms-python.python", "ecrm-dsl.ecrm-dsl", "redhat.vscode-yaml"]


def test_settings_with_comments_are_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ecrm(tmp_path, "init", "shop", "--no-editor", monkeypatch=monkeypatch)
    settings = tmp_path / "shop" / ".vscode" / "settings.json"
    settings.parent.mkdir()
    original = '{\n  // 日本語のコメント\n  "editor.tabSize": 2,\n}\n'
    settings.write_text(original, encoding="utf-8")
    code, out, err = ecrm(tmp_path / "shop", "schema", "vscode", monkeypatch=monkeypatch)
    assert code == 1
    assert settings.read_text(encoding="utf-8") == original
    assert "left .vscode/settings.json alone: it is not plain JSON" in err
    printed = json.loads(err.split("Add these settings to it yourself:\n", 1)[1])
    assert printed["yaml.schemas"][".ecrm/schemas/policies.schema.json"] == ["policies.yaml"]
    assert "created .vscode/extensions.json" in out  # the other file is still written


def test_an_empty_settings_file_is_filled_and_an_unreadable_one_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vscode = tmp_path / "shop" / ".vscode"
    vscode.mkdir(parents=True)
    (vscode / "settings.json").write_text("\n", encoding="utf-8")
    shift_jis = '{"recommendations": ["日本語"]}'.encode("shift_jis")
    (vscode / "extensions.json").write_bytes(shift_jis)
    code, out, err = ecrm(tmp_path, "init", "shop", monkeypatch=monkeypatch)
    assert code == 0  # the project is made; only the one file is left to the user
    assert "updated shop/.vscode/settings.json" in out
    assert "yaml.schemas" in json.loads((vscode / "settings.json").read_text(encoding="utf-8"))
    assert "left shop/.vscode/extensions.json alone: it is not UTF-8 text" in err
    assert (vscode / "extensions.json").read_bytes() == shift_jis


def yaml_language_server_matches(pattern: str, path: Path) -> bool:
    """Whether yaml-language-server applies a yaml.schemas glob to a file: it escapes the glob, turns each `*` into
    `.*` and looks for it at the end of the file's path."""
    escaped = re.sub(r"[-\\{}+?|^$.,\[\]()#\s]", lambda m: "\\" + m.group(), pattern).replace("*", ".*")
    return re.search(escaped + "$", path.as_posix()) is not None


def example_project(root: Path) -> list[Path]:
    """The example YAML files of scenarios/ in a project whose folders are all renamed (so nothing matches unless
    the mapping follows the configuration), without their `yaml-language-server: $schema` lines."""
    (root / "ecrm.toml").write_text(
        'scenarios = "journeys"\nsegments = "audiences"\ntemplates = "messages"\n'
        'customer_schema = "shop/顧客スキーマ.yaml"\npolicies = "shop/policies.yaml"\n',
        encoding="utf-8",
    )
    placed = {
        "journeys": [p for p in EXAMPLES.glob("*.yaml") if p.name not in {"customer_schema.yaml", "policies.yaml"}],
        "audiences": sorted((EXAMPLES / "segments").glob("*.yaml")),
        "messages": sorted((EXAMPLES / "templates").glob("*.yaml")),
    }
    copies = []
    for folder, files in placed.items():
        (root / folder).mkdir()
        copies += [shutil.copyfile(p, root / folder / p.name) for p in files]
    (root / "shop").mkdir()
    copies.append(shutil.copyfile(EXAMPLES / "customer_schema.yaml", root / "shop" / "顧客スキーマ.yaml"))
    copies.append(shutil.copyfile(EXAMPLES / "policies.yaml", root / "shop" / "policies.yaml"))
    for copy in copies:
        text = copy.read_text(encoding="utf-8")
        copy.write_text(re.sub(r"\A# yaml-language-server:[^\n]*\n", "", text), encoding="utf-8")
    return sorted(copies)


def check_jsonschema(schema: Path, files: list[Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--schemafile", str(schema), *map(str, files)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_the_settings_mapping_validates_every_example_with_check_jsonschema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    examples = example_project(project)
    assert len(examples) > 20
    code, _, _ = ecrm(project, "schema", "vscode", monkeypatch=monkeypatch)
    assert code == 0
    mapping = json.loads((project / ".vscode" / "settings.json").read_text(encoding="utf-8"))["yaml.schemas"]

    schema_of: dict[Path, list[str]] = {}
    for path in examples:
        schema_of[path] = [
            s for s, globs in mapping.items() if any(yaml_language_server_matches(g, path) for g in globs)
        ]
    assert {p.relative_to(project).as_posix(): s for p, s in schema_of.items() if len(s) != 1} == {}

    for schema in sorted(mapping):
        files = [p for p, s in schema_of.items() if s == [schema]]
        assert files, schema
        # From another folder, so that only the schema file's own location can resolve its references.
        done = check_jsonschema(project / schema, files, cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr

    # The same mapping rejects a broken file, so the check above can fail.
    broken = project / "audiences" / "broken.yaml"
    broken.write_text("segment: 壊れた\nwhere: 1\n", encoding="utf-8")
    done = check_jsonschema(project / ".ecrm/schemas/segment.schema.json", [broken], cwd=tmp_path)
    assert done.returncode == 1


def test_a_reference_between_copies_resolves_from_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, _ = ecrm(tmp_path, "schema", "export", "copies", monkeypatch=monkeypatch)
    assert code == 0
    (tmp_path / "copies" / "wait.schema.json").write_text(
        json.dumps({"$ref": "scenario.schema.json#/definitions/duration"}), encoding="utf-8"
    )
    (tmp_path / "good.yaml").write_text("7d\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("七日\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    schema = tmp_path / "copies" / "wait.schema.json"
    assert check_jsonschema(schema, [tmp_path / "good.yaml"], cwd=elsewhere).returncode == 0
    assert check_jsonschema(schema, [tmp_path / "bad.yaml"], cwd=elsewhere).returncode == 1


def test_lint_warns_about_a_stale_copy_and_export_refreshes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ecrm(tmp_path, "init", "shop", monkeypatch=monkeypatch)
    shop = tmp_path / "shop"
    copy = shop / ".ecrm" / "schemas" / "segment.schema.json"
    copy.write_text(copy.read_text(encoding="utf-8").replace(package_version(), "0.0.1"), encoding="utf-8")
    code, out, _ = ecrm(shop, "lint", monkeypatch=monkeypatch)
    assert code == 1
    assert (
        ".ecrm/schemas/segment.schema.json:1:1: warning: this schema copy was written by ecrm-dsl 0.0.1, "
        "not by the installed version [W801 stale-schema-copy]"
    ) in out
    assert f"hint: refresh the copies from ecrm-dsl {package_version()}: ecrm schema export .ecrm/schemas" in out
    code, out, _ = ecrm(shop, "schema", "export", ".ecrm/schemas", monkeypatch=monkeypatch)
    assert (code, out) == (0, "wrote .ecrm/schemas/segment.schema.json\n")
    code, out, _ = ecrm(shop, "lint", monkeypatch=monkeypatch)
    assert code == 0
