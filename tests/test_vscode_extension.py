"""The VS Code extension in editors/vscode: the .vsix that CI builds holds what VS Code loads, and its TextMate
grammar knows every keyword of grammar/ecrm.lark and colours real scenario files as intended.

The grammar is run exactly as VS Code runs it (vscode-textmate on the Oniguruma engine, from a node script), not
approximated with Python regexes. Without npm the build cannot run: these tests fail under CI and skip elsewhere.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest
from lark.lexer import PatternRE, PatternStr

from ecrm_dsl.syntax.text import parser

REPO = Path(__file__).resolve().parent.parent
EXTENSION = REPO / "editors" / "vscode"
VSIX = EXTENSION / "ecrm-dsl.vsix"
SCHEMAS = REPO / "ecrm_dsl" / "schemas"
# What the package is built from: a change to any of them makes the .vsix stale.
SOURCES = [
    EXTENSION / "package.json",
    EXTENSION / "package-lock.json",
    EXTENSION / "language-configuration.json",
    *sorted((EXTENSION / "src").glob("*.ts")),
    *sorted((EXTENSION / "syntaxes").glob("*.json")),
    *sorted(SCHEMAS.glob("*.schema.json")),
]

Token = dict[str, Any]


def _npm_or_skip() -> str:
    npm = shutil.which("npm")
    if npm is None:
        reason = "npm is not installed: the VS Code extension cannot be built (.ci/run installs Node)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return npm


def _run(command: list[str]) -> None:
    done = subprocess.run(command, cwd=EXTENSION, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def built() -> Path:
    """The extension folder with its dependencies installed and a current .vsix built (as .ci/run does)."""
    npm = _npm_or_skip()
    if not (EXTENSION / "node_modules" / "vscode-textmate").is_dir():
        _run([npm, "ci", "--no-audit", "--no-fund"])
    newest_source = max(path.stat().st_mtime for path in SOURCES)
    if not VSIX.is_file() or VSIX.stat().st_mtime < newest_source:
        _run([npm, "run", "package"])
    return EXTENSION


def tokenize(folder: Path, text: str, tmp_path: Path) -> list[list[Token]]:
    """Each line's tokens (text and scopes, innermost last) as VS Code's grammar engine produces them."""
    source = tmp_path / "sample.ecrm"
    source.write_text(text, encoding="utf-8")
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "scripts/tokenize.js", str(source)], cwd=folder, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines: list[list[Token]] = json.loads(done.stdout)
    return lines


def scope_of(line: list[Token], text: str) -> str:
    """The innermost scope of the token whose text is exactly ``text`` (the first such on the line)."""
    for token in line:
        if token["text"] == text:
            scope: str = token["scopes"][-1]
            return scope
    raise AssertionError(f"no token {text!r} on the line: {[t['text'] for t in line]}")


def grammar_keywords() -> set[str]:
    """Every keyword of the text syntax, read from the parser Lark builds from grammar/ecrm.lark: the anonymous
    keyword literals ("scenario", "when", …) and the words of terminals defined as alternatives of words
    (BEFORE_AFTER, WEEKDAY, YEARLY)."""
    words: set[str] = set()
    for terminal in parser().terminals:
        pattern = terminal.pattern
        if isinstance(pattern, PatternStr) and pattern.value.isidentifier():
            words.add(pattern.value)
        elif isinstance(pattern, PatternRE):
            regexp = pattern.to_regexp()
            alternatives = regexp.removeprefix("(?:").removesuffix(")").split("|")
            words.update(w for w in alternatives if w.isidentifier() and re.fullmatch(regexp, w))
    return words


def test_the_vsix_holds_manifest_grammar_client_and_schemas(built: Path) -> None:
    with zipfile.ZipFile(VSIX) as vsix:
        names = set(vsix.namelist())
        manifest = json.loads(vsix.read("extension/package.json"))
        grammar = json.loads(vsix.read("extension/syntaxes/ecrm.tmLanguage.json"))
    assert {"extension/package.json", "extension/language-configuration.json", "extension/out/extension.js"} <= names
    assert "extension/node_modules/vscode-languageclient/package.json" in names  # the client's runtime dependency
    assert f"extension/{manifest['main'].removeprefix('./')}" in names
    assert [lang["id"] for lang in manifest["contributes"]["languages"]] == ["ecrm"]
    assert manifest["contributes"]["languages"][0]["extensions"] == [".ecrm"]
    (contributed,) = manifest["contributes"]["grammars"]
    assert contributed["scopeName"] == grammar["scopeName"] == "source.ecrm"
    # Installed along with ours (an extension pack), not a dependency: VS Code would not activate ours without it,
    # and the .ecrm files and the language server need nothing of it.
    assert "redhat.vscode-yaml" in manifest["extensionPack"] and "extensionDependencies" not in manifest
    settings = manifest["contributes"]["configuration"]["properties"]
    assert settings["ecrm.path"]["default"] == "ecrm"
    assert {"off", "messages", "verbose"} == set(settings["ecrm.trace.server"]["enum"])
    assert settings["ecrm.language"]["enum"] == ["auto", "ja", "en"] and settings["ecrm.language"]["default"] == "auto"
    # The schema of every YAML kind ships inside, equal to the one the package validates with.
    for kind in ("scenario", "segment", "template", "preset", "customer_schema", "policies"):
        shipped = json.loads(zipfile.ZipFile(VSIX).read(f"extension/schemas/{kind}.schema.json"))
        assert shipped == json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))


def test_the_client_starts_ecrm_lsp_and_says_how_to_install_it(built: Path) -> None:
    vsix = zipfile.ZipFile(VSIX)
    client = vsix.read("extension/out/extension.js").decode()
    assert 'args: ["lsp"]' in client
    # No transport named: with TransportKind.stdio, vscode-languageclient appends `--stdio`, which `ecrm lsp` rejects.
    assert "transport:" not in client
    assert "registerContributor" in client  # the YAML schemas, through the YAML extension's API
    # The modules the client imports, tested under node below, are the ones shipped.
    assert "pip install 'ecrm-dsl[lsp]'" in vsix.read("extension/out/serverCommand.js").decode()
    assert "extension/out/projectSchemas.js" in vsix.namelist()


def server_command(folder: Path, setting: str, workspace: Path, path_env: str) -> dict[str, str]:
    """What the extension makes of an `ecrm.path` setting (its compiled out/serverCommand.js, run by node)."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "scripts/server-command.js", setting, str(workspace)],
        cwd=folder,
        env={**os.environ, "PATH": path_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found: dict[str, str] = json.loads(done.stdout)
    return found


def test_the_server_command_is_found_or_the_user_told_how_to_install_it(built: Path, tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    venv_bin = tmp_path / "プロジェクト" / ".venv" / "bin"
    for folder in (bin_dir, venv_bin):
        folder.mkdir(parents=True)
        (folder / "ecrm").write_text("#!/bin/sh\n", encoding="utf-8")
        (folder / "ecrm").chmod(0o755)
    (bin_dir / "not-executable").write_text("", encoding="utf-8")
    workspace = tmp_path / "プロジェクト"
    assert server_command(built, "ecrm", workspace, f"/nonexistent:{bin_dir}") == {"executable": str(bin_dir / "ecrm")}
    assert server_command(built, "${workspaceFolder}/.venv/bin/ecrm", workspace, "") == {
        "executable": str(venv_bin / "ecrm")
    }
    assert server_command(built, ".venv/bin/ecrm", workspace, "") == {"executable": str(venv_bin / "ecrm")}
    for setting in ("ecrm", "not-executable", "./missing/ecrm"):
        problem = server_command(built, setting, workspace, str(tmp_path / "empty") + ":" + str(bin_dir / "x"))
        assert set(problem) == {"problem"}
        assert "was not found" in problem["problem"]
        assert "pip install 'ecrm-dsl[lsp]'" in problem["problem"]


def server_language(folder: Path, setting: str, environment_language: str | None) -> str | None:
    """The ``ECRM_LANG`` the extension starts ``ecrm lsp`` with for an ``ecrm.language`` setting (its compiled
    out/serverCommand.js, run by node), given the editor's own ``ECRM_LANG``."""
    node = shutil.which("node")
    assert node is not None
    env = {k: v for k, v in os.environ.items() if k != "ECRM_LANG"}
    if environment_language is not None:
        env["ECRM_LANG"] = environment_language
    done = subprocess.run(
        [node, "scripts/server-env.js", setting], cwd=folder, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    found: str | None = json.loads(done.stdout)["ECRM_LANG"]
    return found


def test_the_language_setting_chooses_the_server_s_language(built: Path) -> None:
    """``ja``/``en`` set ``ECRM_LANG`` for the server (which prefers it to the locale the editor sends); ``auto`` and
    anything unknown leave the editor's environment as it is. The client passes that environment to the server."""
    assert server_language(built, "ja", None) == "ja"
    assert server_language(built, "en", "ja") == "en"
    assert server_language(built, "auto", None) is None
    assert server_language(built, "auto", "ja") == "ja"
    assert server_language(built, "日本語", None) is None
    client = zipfile.ZipFile(VSIX).read("extension/out/extension.js").decode()
    assert 'env: (0, serverCommand_1.serverEnvironment)(settings.get("language", "auto"))' in client


def schema_kinds(folder: Path, files: list[Path]) -> dict[str, str | None]:
    """The schema the extension gives each file (its compiled out/projectSchemas.js, run by node)."""
    node = shutil.which("node")
    assert node is not None
    done = subprocess.run(
        [node, "scripts/schema-for.js", *map(str, files)], cwd=folder, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    kinds: dict[str, str | None] = json.loads(done.stdout)
    return kinds


def test_yaml_files_get_the_schema_their_project_configuration_says(built: Path, tmp_path: Path) -> None:
    default = tmp_path / "shop"
    custom = tmp_path / "custom"
    chart = tmp_path / "helm-chart"  # no ecrm project: its templates/ are not ecrm templates
    (default / "ecrm.toml").parent.mkdir()
    (default / "ecrm.toml").write_text('scenarios = "scenarios"\n[rules]\nselect = ["E"]\n', encoding="utf-8")
    (custom / "config").mkdir(parents=True)
    (custom / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.ecrm]\nscenarios = "journeys"\nsegments = "journeys/audiences"\n'
        'templates = "メッセージ"\npolicies = "config/policies.yaml"\npresets = ["ours"]\n\n[tool.ecrm.rules]\n',
        encoding="utf-8",
    )
    chart.mkdir()
    expected = {
        default / "scenarios" / "f2.yaml": "scenario",
        default / "scenarios" / "f2.ecrm": None,
        default / "scenarios" / "deeper" / "x.yaml": None,
        default / "segments" / "vip" / "loyal.yml": "segment",
        default / "templates" / "thanks.yaml": "template",
        default / "customer_schema.yaml": "customer_schema",
        default / "policies.yaml": "policies",
        default / "presets" / "p.yaml": None,  # presets only when configured
        custom / "journeys" / "f2.yaml": "scenario",
        custom / "journeys" / "audiences" / "vip.yaml": "segment",
        custom / "メッセージ" / "お礼.yaml": "template",
        custom / "config" / "policies.yaml": "policies",
        custom / "policies.yaml": None,
        custom / "ours" / "winback.yaml": "preset",
        chart / "templates" / "deployment.yaml": None,
    }
    assert schema_kinds(built, list(expected)) == {str(path): kind for path, kind in expected.items()}


def test_every_keyword_of_the_lark_grammar_is_highlighted(built: Path, tmp_path: Path) -> None:
    keywords = sorted(grammar_keywords())
    assert {"scenario", "when", "where", "send", "between", "yearly", "before", "monday"} <= set(keywords)
    lines = tokenize(built, "\n".join(keywords), tmp_path)
    unscoped = {}
    for word, line in zip(keywords, lines, strict=False):
        scope = scope_of(line, word)
        if not scope.startswith(("keyword.", "storage.type.", "constant.language.")):
            unscoped[word] = scope
    assert unscoped == {}


@pytest.mark.parametrize(
    ("line", "token", "scope"),
    [
        ("wait 7d", "7d", "constant.numeric.duration.ecrm"),
        ("after 36h:", "36h", "constant.numeric.duration.ecrm"),
        ("x == 1w2d", "1w2d", "constant.numeric.duration.ecrm"),
        ("x >= 500円", "500円", "constant.numeric.money.ecrm"),
        ("x >= 30,000円", "30,000円", "constant.numeric.money.ecrm"),
        ("x < ¥3,000", "¥3,000", "constant.numeric.money.ecrm"),
        ("x == 1000JPY", "1000JPY", "constant.numeric.money.ecrm"),
        ("holdout 10%", "10%", "constant.numeric.percent.ecrm"),
        ("target +3pt within 60d", "+3pt", "constant.numeric.target.ecrm"),
        ("x > 2025-03-01", "2025-03-01", "constant.numeric.date.ecrm"),
        ("day 1 at 10:00:", "10:00", "constant.numeric.time.ecrm"),
        ("x > 1.5", "1.5", "constant.numeric.decimal.ecrm"),
        ("x > 12", "12", "constant.numeric.integer.ecrm"),
        ("x == true", "true", "constant.language.ecrm"),
        ("x == null", "null", "constant.language.ecrm"),
        ("a != b", "!=", "keyword.operator.comparison.ecrm"),
        ("a <= b", "<=", "keyword.operator.comparison.ecrm"),
        ("a / b", "/", "keyword.operator.arithmetic.ecrm"),
        ("set customer.persona = 1", "=", "keyword.operator.assignment.ecrm"),
        ("@お礼 send email thanks", "お礼", "entity.name.label.ecrm"),
        ("x == 1 # 注釈", "# 注釈", "comment.line.number-sign.ecrm"),
    ],
)
def test_each_literal_and_operator_has_its_scope(
    built: Path, tmp_path: Path, line: str, token: str, scope: str
) -> None:
    (tokens,) = tokenize(built, line, tmp_path)
    if token.startswith("#"):  # a comment is two tokens: its # and the rest
        assert [t["scopes"][-1] for t in tokens[-2:]] == ["punctuation.definition.comment.ecrm", scope]
        return
    assert scope_of(tokens, token) == scope


def test_strings_with_japanese_and_placeholders(built: Path, tmp_path: Path) -> None:
    text = 'description "{{ customer.name }}さま、ご購入ありがとうございます" # 日本語のコメント "not a string"'
    (line,) = tokenize(built, text, tmp_path)
    assert scope_of(line, "customer.name") == "variable.other.placeholder.ecrm"
    assert "string.quoted.double.ecrm" in next(t for t in line if t["text"] == "customer.name")["scopes"]
    assert scope_of(line, "さま、ご購入ありがとうございます") == "string.quoted.double.ecrm"
    assert scope_of(line, ' 日本語のコメント "not a string"') == "comment.line.number-sign.ecrm"


def test_an_example_scenario_is_coloured_as_intended(built: Path, tmp_path: Path) -> None:
    source = (REPO / "scenarios" / "birthday_coupon.ecrm").read_text(encoding="utf-8")
    lines = tokenize(built, source, tmp_path)
    words = [[t["text"] for t in line if t["text"].strip()] for line in lines]
    by_first_word = {texts[0]: line for texts, line in zip(words, lines, strict=True) if texts}

    assert scope_of(lines[0], " お誕生日クーポン。売るCRM。") == "comment.line.number-sign.ecrm"
    header = by_first_word["scenario"]
    assert scope_of(header, "scenario") == "storage.type.scenario.ecrm"
    assert scope_of(header, "birthday_coupon") == "entity.name.type.scenario.ecrm"
    assert scope_of(header, "お誕生日クーポン") == "string.quoted.double.ecrm"
    trigger = by_first_word["when"]
    assert [scope_of(trigger, w) for w in ("when", "date", "7d", "before", "09:00", "yearly", "where", ">=")] == [
        "keyword.control.ecrm",
        "keyword.other.ecrm",
        "constant.numeric.duration.ecrm",
        "keyword.other.ecrm",
        "constant.numeric.time.ecrm",
        "keyword.other.ecrm",
        "keyword.control.ecrm",
        "keyword.operator.comparison.ecrm",
    ]
    assert scope_of(trigger, "birthday") == "variable.other.property.ecrm"
    assert scope_of(by_first_word["holdout"], "10%") == "constant.numeric.percent.ecrm"
    send = by_first_word["send"]
    assert scope_of(send, "line") == "support.constant.channel.ecrm"
    assert scope_of(send, "birthday_coupon") == "entity.name.function.template.ecrm"
    assert scope_of(send, "1000円") == "constant.numeric.money.ecrm"
    # Nothing but blanks is left uncoloured (a token with only the root scope).
    for line in lines:
        assert [t["text"] for t in line if t["text"].strip() and len(t["scopes"]) == 1] == []
