"""``ecrm lint --format sarif``: valid SARIF 2.1.0 (the official OASIS schema), every rule described, results
at repository-relative locations, suppressed findings marked, the same bytes every time."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from jsonschema import Draft4Validator

from ecrm_dsl.language.diagnostics import RULES
from tests.test_lint_ci import SCENARIO, break_attribute, edit, git, make_project, needs_git, run_cli

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
VALIDATOR = Draft4Validator(SCHEMA, format_checker=Draft4Validator.FORMAT_CHECKER)


@pytest.fixture(autouse=True)
def _no_outer_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)


def sarif(project: Path, *args: str) -> tuple[dict, str]:
    run = run_cli("lint", "--format", "sarif", *args, cwd=project)
    assert run.code in (0, 1), run.stderr
    log = json.loads(run.stdout)
    errors = sorted(VALIDATOR.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)
    return log, run.stdout


def test_the_schema_copy_is_the_official_one() -> None:
    Draft4Validator.check_schema(SCHEMA)
    assert SCHEMA["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    wrong = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "fatal"}]}]}
    assert len(list(VALIDATOR.iter_errors(wrong))) == 2  # a result needs a message; "fatal" is no level


def test_a_clean_project_is_a_valid_log_with_every_rule(tmp_path: Path) -> None:
    log, _ = sarif(make_project(tmp_path / "shop"))
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert run["results"] == []
    driver = run["tool"]["driver"]
    assert driver["name"] == "ecrm-dsl"
    assert driver["version"][0].isdigit()
    assert [rule["id"] for rule in driver["rules"]] == sorted(RULES)
    for rule in driver["rules"]:
        known = RULES[rule["id"]]
        assert rule["name"] == known.name
        assert rule["shortDescription"]["text"] == known.summary
        assert rule["defaultConfiguration"]["level"] == known.severity.value
        assert rule["helpUri"].endswith(f"/docs/rules/{rule['id']}.md")  # each rule's own page
    for uri in [driver["informationUri"], *(rule["helpUri"] for rule in driver["rules"])]:
        assert urlsplit(uri).scheme == "https" and urlsplit(uri).netloc


def test_results_point_at_the_finding(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    edit(project / "templates" / "repeat_coupon.yaml", "{{ coupon_code }}\n", "{{ coupn_code }}\n")
    log, _ = sarif(project)
    (run,) = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [(r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in results] == [
        ("E204", "scenarios/f2_step_mail.ecrm"),
        ("E503", "templates/repeat_coupon.yaml"),
    ]
    first = results[0]
    assert rules[first["ruleIndex"]]["id"] == "E204"
    assert first["level"] == "error"
    assert first["message"]["text"] == "unknown attribute customer.ordr_count (did you mean order_count?)"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    assert location["region"] == {"startLine": 6, "startColumn": 27, "endLine": 6, "endColumn": 46}
    line = (project / SCENARIO).read_text(encoding="utf-8").splitlines()[5]
    assert line[27 - 1 : 46 - 1] == "customer.ordr_count"  # columns are code points; the end is exclusive
    assert run["columnKind"] == "unicodeCodePoints"
    assert all(r["partialFingerprints"] for r in results)


def test_output_is_deterministic_and_fingerprints_survive_moved_lines(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project)
    first, text = sarif(project)
    _, text_again = sarif(project)
    assert text == text_again
    edit(project / SCENARIO, "scenario f2_step_mail", "# a new first line\n\nscenario f2_step_mail")
    moved, _ = sarif(project)
    before, after = first["runs"][0]["results"][0], moved["runs"][0]["results"][0]
    assert after["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
    assert before["partialFingerprints"] == after["partialFingerprints"]


def test_suppressed_findings_are_kept_as_in_source_suppressions(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    break_attribute(project, "  # ecrm: ignore[E204]")
    log, _ = sarif(project)
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "E204"
    assert result["suppressions"] == [{"kind": "inSource"}]
    text = run_cli("lint", cwd=project)
    assert (text.code, text.stdout) == (0, "6 files checked: no findings\n")


@needs_git
def test_uris_are_repository_relative_and_percent_encoded(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    project = make_project(repo / "ショップ")
    break_attribute(project)
    (project / SCENARIO).rename(project / "scenarios" / "初回 購入.ecrm")
    log, _ = sarif(project)
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.isascii() and " " not in uri
    assert unquote(uri) == "ショップ/scenarios/初回 購入.ecrm"


def test_a_broken_configuration_is_a_sarif_result(tmp_path: Path) -> None:
    project = make_project(tmp_path / "shop")
    with (project / "ecrm.toml").open("a", encoding="utf-8") as config:
        config.write('[rules]\nignore = ["W5O6"]\n')
    run = run_cli("lint", "--format", "sarif", cwd=project)
    assert run.code == 2
    log = json.loads(run.stdout)
    assert not list(VALIDATOR.iter_errors(log))
    (result,) = log["runs"][0]["results"]
    assert result["ruleId"] == "E007"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 8
