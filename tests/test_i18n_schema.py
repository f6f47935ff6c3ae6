"""Japanese for the schema part: JSON Schema shape errors (E100), preset argument values (E602), LINE limits
(E520), and the schema copies for editors (``ecrm --lang ja schema export``, W801 in either language)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from ecrm_dsl.cli import cli
from ecrm_dsl.language import i18n
from ecrm_dsl.language.line_limits import line_problems
from ecrm_dsl.project.editor_files import EDITOR_SCHEMA_KINDS, SCHEMA_COPIES
from ecrm_dsl.syntax.schema_text import TEXT_KEYS, english_schema
from tests.test_i18n import _lint_json, _same_findings_in_japanese, english_afterwards
from tests.test_rules_golden import FIXTURE, build_project

__all__ = ["english_afterwards"]  # the autouse fixture: every test here leaves the process in English


def _findings(config: Path, language: str, code: str) -> list[dict[str, object]]:
    return [f for f in _lint_json(config, language) if f["code"] == code]


def _places(findings: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(f["file"], f["line"], f["column"]) for f in findings]


# ------------------------------------------------------------------ E100: the JSON Schema shape errors


def test_a_shape_error_speaks_japanese_at_the_same_place(tmp_path: Path) -> None:
    root = build_project("E100_schema", tmp_path / "project")
    _same_findings_in_japanese(
        root / "ecrm.toml", "E100", "ドキュメントに不明なキー 'trigerr' があります", "もしかして 'trigger'？"
    )
    japanese = {(f["line"], f["message"], f["hint"]) for f in _findings(root / "ecrm.toml", "ja", "E100")}
    assert (
        2,
        "kind: ここでは 'sel' は使えません",
        "もしかして 'sell'？ 次のいずれかを使ってください: sell, nurture",
    ) in (japanese)
    # the schema's own explanation of a oneOf (its x-message), from the catalogue
    assert any(str(m).startswith("trigger: トリガーには次のうちちょうど1つが必要です") for _, m, _ in japanese)


def test_wrong_types_and_ranges_are_told_in_japanese(tmp_path: Path) -> None:
    root = build_project("E100_schema", tmp_path / "project")
    policies = root / "policies.yaml"
    text = policies.read_text(encoding="utf-8").replace("max: 3", "max: 0")
    policies.write_text(text.replace("weekends: [saturday, sunday]", "weekends: 5"), encoding="utf-8")
    (root / "segments" / "empty_where.yaml").write_text('segment: empty_where\nwhere: ""\n', encoding="utf-8")
    wanted = ("policies.yaml", "segments/empty_where.yaml")
    english = [f for f in _findings(root / "ecrm.toml", "en", "E100") if f["file"] in wanted]
    japanese = [f for f in _findings(root / "ecrm.toml", "ja", "E100") if f["file"] in wanted]
    assert [f["message"] for f in english] == [
        "calendar.weekends: expected a list, found a number",
        "frequency_caps.0.max: 0 is out of range (minimum 1)",
        "where: '' should be non-empty",  # jsonschema's words, kept as they were
    ]
    assert _places(japanese) == _places(english)
    assert [f["message"] for f in japanese] == [
        "calendar.weekends: リストが来るはずですが、数です",
        "frequency_caps.0.max: 0 は範囲外です（最小 1）",
        "where: '' は空にできません",
    ]


# ------------------------------------------------------------------ E602: a preset's argument values


def test_a_preset_argument_error_speaks_japanese(tmp_path: Path) -> None:
    root = build_project("E602_preset-parameter", tmp_path / "project")
    english = _findings(root / "ecrm.toml", "en", "E602")
    japanese = _findings(root / "ecrm.toml", "ja", "E602")
    assert _places(japanese) == _places(english)
    assert all(en["message"] != ja["message"] for en, ja in zip(english, japanese, strict=True))
    messages = [f["message"] for f in japanese]
    assert "プリセット f2_step_mail のパラメーター 'coupon_day': 整数が来るはずですが、\"7\" です" in messages
    assert (
        "プリセット f2_step_mail のパラメーター 'howto_template': テンプレート名が来るはずですが、12 です" in messages
    )
    assert "プリセット f2_step_mail のパラメーター 'audience': 条件を解析できません: 予期しない文字 '＆'" in messages


# ------------------------------------------------------------------ E520: the LINE limits


def test_a_line_limit_s_detail_speaks_japanese(tmp_path: Path) -> None:
    root = build_project("E520_line-message-limit", tmp_path / "project")
    _same_findings_in_japanese(
        root / "ecrm.toml",
        "E520",
        "テンプレート 'line_rich': ボタン 3 の URL: https://, http://, line:// または tel: で始まる必要があります"
        "（'ftp://minori.example/stores' ではありません）",
        "このままでは LINE がプッシュ全体を拒否します。"
        "テキスト、画像、ボタンの各メッセージについては Messaging API リファレンスを参照してください",
    )


def test_a_failed_line_delivery_records_english_whatever_the_language() -> None:
    i18n.use("ja")
    [problem] = line_problems({"text": "あ" * 5001}, rendered=True)
    assert problem.message == "the LINE text is 5001 characters; LINE allows at most 5000"
    assert problem.text == "LINE のテキスト: 5001 文字あります。LINE の上限は 5000 文字です"


# ------------------------------------------------------------------ schema copies in Japanese, and W801


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(FIXTURE, root)
    (root / "scenarios").mkdir(exist_ok=True)
    return root


def _words_removed(node: object) -> object:
    if isinstance(node, dict):
        return {k: _words_removed(v) for k, v in node.items() if k not in TEXT_KEYS and k != "$comment"}
    if isinstance(node, list):
        return [_words_removed(v) for v in node]
    return node


def _lint(root: Path, *args: str) -> tuple[int, list[dict[str, object]]]:
    result = CliRunner().invoke(cli, [*args, "--config", str(root / "ecrm.toml"), "lint", "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, list(json.loads(result.stdout)["findings"])


def test_a_japanese_export_is_the_same_schema_with_japanese_words_and_lint_accepts_it(tmp_path: Path) -> None:
    root = _project(tmp_path)
    folder = root / SCHEMA_COPIES
    result = CliRunner().invoke(cli, ["--lang", "ja", "schema", "export", str(folder)])
    assert result.exit_code == 0, result.output
    for kind in EDITOR_SCHEMA_KINDS:
        copy = json.loads((folder / f"{kind}.schema.json").read_text(encoding="utf-8"))
        jsonschema.Draft7Validator.check_schema(copy)
        english = english_schema(kind)
        assert _words_removed(copy) == _words_removed(english)  # only the words differ: it accepts the same files
        assert copy["description"] != english["description"]
    scenario = json.loads((folder / "scenario.schema.json").read_text(encoding="utf-8"))
    assert scenario["title"] == "ecrm-dsl シナリオ"
    assert "がエディター用に書き出したファイルです" in scenario["$comment"]
    for language in ("en", "ja"):  # up to date whichever language lint speaks
        code, findings = _lint(root, "--lang", language)
        assert code == 0 and not [f for f in findings if f["code"] == "W801"], findings


def test_a_stale_japanese_copy_is_reported_and_fix_rewrites_it_in_japanese(tmp_path: Path) -> None:
    root = _project(tmp_path)
    folder = root / SCHEMA_COPIES
    assert CliRunner().invoke(cli, ["--lang", "ja", "schema", "export", str(folder)]).exit_code == 0
    segment = folder / "segment.schema.json"
    current = segment.read_text(encoding="utf-8")
    old = json.loads(current)
    old["$comment"] = old["$comment"].replace(old["$comment"].split(" ")[1], "0.0.1", 1)
    old["title"] += "（旧）"
    segment.write_text(json.dumps(old, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    code, findings = _lint(root)  # English lint, Japanese copy
    [stale] = [f for f in findings if f["code"] == "W801"]
    assert code == 1 and stale["file"] == ".ecrm/schemas/segment.schema.json" and stale["line"] == 1
    assert stale["message"] == "this schema copy was written by ecrm-dsl 0.0.1, not by the installed version"
    assert "ecrm --lang ja schema export .ecrm/schemas" in str(stale["hint"])
    _, findings = _lint(root, "--lang", "ja")
    [stale] = [f for f in findings if f["code"] == "W801"]
    assert stale["message"] == (
        "このスキーマのコピーは ecrm-dsl 0.0.1 が書き出したもので、インストールされているバージョンのものではありません"
    )

    fixed = CliRunner().invoke(cli, ["--config", str(root / "ecrm.toml"), "lint", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert segment.read_text(encoding="utf-8") == current  # rewritten in Japanese, as exported


def test_schema_vscode_writes_the_copies_in_the_language_asked_for(tmp_path: Path) -> None:
    root = _project(tmp_path)
    result = CliRunner().invoke(cli, ["--lang", "ja", "--config", str(root / "ecrm.toml"), "schema", "vscode"])
    assert result.exit_code == 0, result.output
    template = json.loads((root / SCHEMA_COPIES / "template.schema.json").read_text(encoding="utf-8"))
    assert template["description"] != english_schema("template")["description"]
    code, findings = _lint(root)
    assert code == 0 and not [f for f in findings if f["code"] == "W801"]
