"""``ecrm lsp`` end to end: pytest-lsp starts the real server as a subprocess and speaks LSP to it, over a copy of
the starter project (``ecrm init``) with a scenario that has Japanese and emoji text before its findings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import ecrm_dsl

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "ecrm_dsl", "lsp"])

WINBACK = """\
# 休眠顧客🎁の掘り起こし
scenario winback "休眠🎁顧客の掘り起こし" {
  kind sell
  owner "crm-team"
  hypothesis repeat_rate "休眠顧客🎁にクーポン"
  when segment dormant_9O
  goal order.placd within 30d

  day 1 at 10:00 if customer.favourite_category == "ギフト🎁": send emial repeat_cupon with { coupon_code = "WB10" }
}
"""
SEND_LINE = 8  # 0-based: the line with the emoji before the send's names


def _units(text: str) -> int:
    """UTF-16 code units, counted independently of the server's conversion."""
    return len(text.encode("utf-16-le")) // 2


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp") / "shop"
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", str(root)], check=True, capture_output=True)
    (root / "scenarios" / "winback.ecrm").write_text(WINBACK, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, project: Path):
    params = types.InitializeParams(capabilities=client_capabilities("visual-studio-code"), root_uri=project.as_uri())
    result = await lsp_client.initialize_session(params)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf16
    yield
    await lsp_client.shutdown_session()


def _uri(path: Path) -> str:
    return path.as_uri()


def _open(client: LanguageClient, path: Path, text: str | None = None, version: int = 1) -> str:
    uri = _uri(path)
    language = "ecrm" if path.suffix == ".ecrm" else "yaml"
    body = path.read_text(encoding="utf-8") if text is None else text
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, version, body)))
    return uri


def _change(client: LanguageClient, uri: str, text: str, version: int) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(version, uri),
            [types.TextDocumentContentChangeWholeDocument(text)],
        )
    )


async def _diagnostics(
    client: LanguageClient, uri: str, ready: Callable[[Sequence[types.Diagnostic]], bool], timeout: float = 15
) -> Sequence[types.Diagnostic]:
    """The diagnostics published for ``uri`` once they satisfy ``ready``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = client.diagnostics.get(uri)
        if found is not None and ready(found):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"no fitting diagnostics for {uri}: {client.diagnostics.get(uri)}")


def _codes(found: Sequence[types.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in found)


def _apply(text: str, edits: Sequence[types.TextEdit]) -> str:
    """Apply LSP edits (UTF-16 positions) to ``text``, last first."""
    lines = text.split("\n")

    def offset(pos: types.Position) -> int:
        line = lines[pos.line] if pos.line < len(lines) else ""
        units, index = 0, 0
        while index < len(line) and units < pos.character:
            units += _units(line[index])
            index += 1
        return sum(len(x) + 1 for x in lines[: pos.line]) + index

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
        lines = text.split("\n")
    return text


def _position(text: str, needle: str, line: int | None = None, after: int = 0) -> types.Position:
    """The UTF-16 position ``after`` characters into the first ``needle`` (on ``line``, if given)."""
    for number, content in enumerate(text.split("\n")):
        if (line is None or number == line) and needle in content:
            return types.Position(number, _units(content[: content.index(needle) + after]))
    raise AssertionError(f"{needle!r} not in the text")


# --------------------------------------------------------------------------- diagnostics


@pytest.mark.asyncio(loop_scope="module")
async def test_diagnostics_on_open_have_ci_codes_and_utf16_ranges(client: LanguageClient, project: Path):
    uri = _open(client, project / "scenarios" / "winback.ecrm")
    found = await _diagnostics(client, uri, lambda d: len(d) > 0)
    assert _codes(found) == ["E201", "E202", "E203", "E205"]  # what `ecrm lint` reports for it
    send_line = WINBACK.split("\n")[SEND_LINE]
    send = next(d for d in found if d.code == "E203")
    column = send_line.index("send emial")
    assert send.range.start == types.Position(SEND_LINE, _units(send_line[:column]))
    assert send.range.start.character == column + 1  # the emoji is two UTF-16 units: one more than code points
    assert send.severity == types.DiagnosticSeverity.Error and send.source == "ecrm"
    assert "did you mean email?" in send.message
    segment = next(d for d in found if d.code == "E201")
    assert segment.range.start == types.Position(5, 7)


@pytest.mark.asyncio(loop_scope="module")
async def test_an_edit_updates_the_findings(client: LanguageClient, project: Path):
    path = project / "scenarios" / "winback.ecrm"
    uri = _open(client, path)
    await _diagnostics(client, uri, lambda d: "E201" in _codes(d))
    _change(client, uri, WINBACK.replace("dormant_9O", "dormant_90"), 2)
    found = await _diagnostics(client, uri, lambda d: "E201" not in _codes(d))
    assert _codes(found) == ["E202", "E203", "E205"]
    silenced = WINBACK.replace("within 30d\n", "within 30d  # ecrm: ignore[E205]\n")  # as `ecrm lint` honours it
    _change(client, uri, silenced, 3)
    assert _codes(await _diagnostics(client, uri, lambda d: "E205" not in _codes(d))) == ["E201", "E202", "E203"]
    _change(client, uri, WINBACK, 4)
    await _diagnostics(client, uri, lambda d: "E201" in _codes(d))


@pytest.mark.asyncio(loop_scope="module")
async def test_an_unsaved_segment_rename_changes_the_scenarios_findings(client: LanguageClient, project: Path):
    scenario = project / "scenarios" / "f2_step_mail.ecrm"
    text = scenario.read_text(encoding="utf-8")
    scenario_uri = _open(client, scenario, text.replace("when order.placed", "when segment dormant_90 #", 1))
    await _diagnostics(client, scenario_uri, lambda d: "E201" not in _codes(d))
    segment = project / "segments" / "dormant_90.yaml"
    original = segment.read_text(encoding="utf-8")
    segment_uri = _open(client, segment)
    _change(client, segment_uri, original.replace("segment: dormant_90", "segment: dormant_91"), 2)
    found = await _diagnostics(client, scenario_uri, lambda d: "E201" in _codes(d))
    assert "did you mean dormant_91?" in next(d.message for d in found if d.code == "E201")
    assert segment.read_text(encoding="utf-8") == original  # only the buffer changed
    client.text_document_did_close(types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(segment_uri)))
    await _diagnostics(client, scenario_uri, lambda d: "E201" not in _codes(d))  # closed unsaved: the disk again


def _files_changed(client: LanguageClient, path: Path, kind: types.FileChangeType) -> None:
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams([types.FileEvent(_uri(path), kind)]))


@pytest.mark.asyncio(loop_scope="module")
async def test_a_file_changed_on_disk_relints_the_open_files(client: LanguageClient, project: Path):
    uri = _open(client, project / "scenarios" / "winback.ecrm")
    await _diagnostics(client, uri, lambda d: "E201" in _codes(d))
    added = project / "segments" / "dormant_9O.yaml"
    added.write_text("segment: dormant_9O\ntitle: 休眠🎁\nwhere: customer.days_since_last_order >= 90\n", "utf-8")
    try:
        _files_changed(client, added, types.FileChangeType.Created)
        await _diagnostics(client, uri, lambda d: "E201" not in _codes(d))
    finally:
        added.unlink()
    _files_changed(client, added, types.FileChangeType.Deleted)
    await _diagnostics(client, uri, lambda d: "E201" in _codes(d))


# --------------------------------------------------------------------------- completion


async def _labels(client: LanguageClient, uri: str, pos: types.Position) -> list[str]:
    result = await client.text_document_completion_async(types.CompletionParams(types.TextDocumentIdentifier(uri), pos))
    assert isinstance(result, types.CompletionList)
    return [item.label for item in result.items]


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_offers_the_keywords_the_parser_accepts(client: LanguageClient, project: Path):
    text = WINBACK.replace("  goal order.placd within 30d\n", "  go\n")
    uri = _open(client, project / "scenarios" / "drafts.ecrm", text)
    labels = await _labels(client, uri, _position(text, "  go", after=4))
    assert {"goal", "holdout", "stop", "send", "wait"} <= set(labels)
    assert "scenario" not in labels  # not valid inside a scenario
    after_day = WINBACK.replace(': send emial repeat_cupon with { coupon_code = "WB10" }', ": ")
    _change(client, uri, after_day, 2)
    labels = await _labels(client, uri, _position(after_day, '"ギフト🎁": ', after=len('"ギフト🎁": ')))
    assert set(labels) == {"send", "wait", "update", "exit", "split", "if"}
    mistaken = text.replace("  kind sell", "  kind sell sell")  # an earlier line that does not parse
    _change(client, uri, mistaken, 3)
    assert {"goal", "holdout"} <= set(await _labels(client, uri, _position(mistaken, "  go", after=4)))


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_offers_the_projects_names(client: LanguageClient, project: Path):
    text = WINBACK.replace('customer.favourite_category == "ギフト🎁"', "customer.")
    uri = _open(client, project / "scenarios" / "names.ecrm", text)
    labels = await _labels(client, uri, _position(text, "if customer.", after=len("if customer.")))
    assert {"order_count", "favourite_category", "email_opt_in"} <= set(labels)  # built in and the schema's
    segments = await _labels(client, uri, _position(text, "segment ", after=len("segment ")))
    assert "dormant_90" in segments
    templates = await _labels(client, uri, _position(text, "send emial ", after=len("send emial ")))
    assert {"repeat_coupon", "thanks_first"} <= set(templates)
    purchases = text.replace("if customer.", "if bought(")
    _change(client, uri, purchases, 2)
    keywords = await _labels(client, uri, _position(purchases, "if bought(", after=len("if bought(")))
    assert {"category: ", "sku: ", "within: "} <= set(keywords)
    membership = text.replace("if customer.", "if in_segment(")
    _change(client, uri, membership, 3)
    assert await _labels(client, uri, _position(membership, "in_segment(", after=len("in_segment("))) == ["dormant_90"]


@pytest.mark.asyncio(loop_scope="module")
async def test_completion_in_yaml_offers_schema_keys_and_names(client: LanguageClient, project: Path):
    text = "scenario: y\ntitle: t\nkind: sell\ntrigger:\n  segment: \n  \n"
    uri = _open(client, project / "scenarios" / "y.yaml", text)
    assert "dormant_90" in await _labels(client, uri, types.Position(4, len("  segment: ")))
    keys = await _labels(client, uri, types.Position(5, 2))
    assert {"event: ", "where: ", "audience: "} <= set(keys)
    assert "segment: " not in keys  # written already
    assert "steps: " not in keys  # a scenario key, not a trigger key
    assert "title: " not in await _labels(client, uri, types.Position(6, 0))  # top level: title is written


# --------------------------------------------------------------------------- hover and definition


async def _hover(client: LanguageClient, uri: str, pos: types.Position) -> str:
    result = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), pos))
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    assert result.contents.kind == types.MarkupKind.Markdown
    return result.contents.value


@pytest.mark.asyncio(loop_scope="module")
async def test_hover_explains_segments_templates_and_timings(client: LanguageClient, project: Path):
    path = project / "scenarios" / "f2_step_mail.ecrm"
    text = path.read_text(encoding="utf-8").replace("when order.placed", "when segment dormant_90 #", 1)
    uri = _open(client, path, text)
    segment = await _hover(client, uri, _position(text, "dormant_90", after=3))
    assert "90日以上購入のない顧客" in segment and "customer.days_since_last_order >= 90" in segment
    template = await _hover(client, uri, _position(text, "repeat_coupon", after=2))
    assert "山田 花子様、次回使える10%OFFクーポンです: F2OFF10" in template  # this send's coupon_code
    lines = (project / "templates" / "repeat_coupon.yaml").read_text(encoding="utf-8").split("\n")
    template_uri = _open(client, project / "templates" / "repeat_coupon.yaml")
    alone = await _hover(client, template_uri, _position("\n".join(lines), "repeat_coupon", after=2))
    assert "山田 花子様、次回使える10%OFFクーポンです: ⟨coupon_code⟩" in alone  # no send: the param's name
    timing = await _hover(client, uri, _position(text, "day 7 at 10:00", after=2))
    assert "for an entry on 2026-12-01 14:00 JST, sent 2026-12-08 10:00 JST" in timing
    attribute = await _hover(client, uri, _position(text, "customer.order_count", after=10))
    assert "`int`" in attribute
    called = text.replace("orders_since_entry == 0", 'bought(category: "skincare")')
    _change(client, uri, called, 2)
    function = await _hover(client, uri, _position(called, "bought(", after=2))
    assert "bought(category: string, sku: string, within: duration) → bool" in function


@pytest.mark.asyncio(loop_scope="module")
async def test_definition_opens_the_segment_and_template_files(client: LanguageClient, project: Path):
    uri = _open(client, project / "scenarios" / "winback.ecrm")
    text = WINBACK.replace("dormant_9O", "dormant_90")
    _change(client, uri, text, 2)
    result = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(uri), _position(text, "dormant_90", after=1))
    )
    assert isinstance(result, list) and result[0].uri == _uri((project / "segments" / "dormant_90.yaml").resolve())
    assert result[0].range.start.line == 0
    result = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(uri), _position(text, "favourite_category", after=1))
    )
    assert isinstance(result, list) and result[0].uri.endswith("/customer_schema.yaml")
    schema_lines = (project / "customer_schema.yaml").read_text(encoding="utf-8").split("\n")
    assert schema_lines[result[0].range.start.line].strip() == "favourite_category:"
    preset_use = 'scenario sweets "スイーツ🍰" from preset birthday_coupon with { template = repeat_coupon }\n'
    preset_uri = _open(client, project / "scenarios" / "sweets.ecrm", preset_use)
    result = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(preset_uri), _position(preset_use, "birthday_coupon"))
    )
    assert isinstance(result, list) and result[0].uri.endswith("/ecrm_dsl/presets/birthday_coupon.yaml")
    _change(client, uri, WINBACK, 3)


# --------------------------------------------------------------------------- formatting and quick fixes


@pytest.mark.asyncio(loop_scope="module")
async def test_formatting_is_ecrm_fmt(client: LanguageClient, project: Path):
    messy = WINBACK.replace("  kind sell", "      kind     sell").replace("  owner", "\towner")
    uri = _open(client, project / "scenarios" / "messy.ecrm", messy)
    options = types.FormattingOptions(tab_size=2, insert_spaces=True)
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(types.TextDocumentIdentifier(uri), options)
    )
    assert edits
    assert _apply(messy, edits) == ecrm_dsl.format_source(messy, "messy.ecrm")
    _change(client, uri, messy.replace("{\n", "{{\n", 1), 2)  # no longer parses: no edits, no error
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(types.TextDocumentIdentifier(uri), options)
    )
    assert not edits


@pytest.mark.asyncio(loop_scope="module")
async def test_quick_fixes_give_a_file_that_lints_clean(client: LanguageClient, project: Path):
    path = project / "scenarios" / "winback.ecrm"
    uri = _open(client, path)
    client.diagnostics.pop(uri, None)
    _change(client, uri, WINBACK + "\n", 10)  # a fresh lint of this exact text
    found = await _diagnostics(client, uri, lambda d: len(d) == 4)
    text = WINBACK + "\n"
    for diagnostic in found:
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier(uri),
                diagnostic.range,
                types.CodeActionContext(diagnostics=[diagnostic]),
            )
        )
        assert actions is not None and len(actions) == 1
        action = actions[0]
        assert isinstance(action, types.CodeAction) and action.is_preferred
        assert action.kind == types.CodeActionKind.QuickFix
        assert action.edit is not None and action.edit.changes is not None
        (edit,) = action.edit.changes[uri]
        assert edit.range.start.line == edit.range.end.line  # exactly the misspelt name
        text = _apply(text, [edit])
    send_line = text.split("\n")[SEND_LINE]
    assert "send email repeat_coupon" in send_line and "ギフト🎁" in send_line
    path.write_text(text, encoding="utf-8")
    try:
        lint = subprocess.run(
            [sys.executable, "-m", "ecrm_dsl", "lint", str(path)], cwd=project, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout
    finally:
        path.write_text(WINBACK, encoding="utf-8")


WINBACK_YAML = """\
scenario: winback_yaml
title: 休眠🎁顧客
kind: sell
owner: crm-team
hypothesis: {kpi: repeat_rate, statement: 休眠顧客🎁にクーポン}
trigger: {segment: dormant_90}
goals:
- {event: order.placed, within: 30d}
steps:
- delay: {day: 7, at: "10:00"}
  send: {params: {coupon_code: 🎁WB10}, channel: email, template: repeat_cupon}
"""


@pytest.mark.asyncio(loop_scope="module")
async def test_yaml_quick_fix_range_and_timing_hover(client: LanguageClient, project: Path):
    uri = _open(client, project / "scenarios" / "winback_yaml.yaml", WINBACK_YAML)
    found = await _diagnostics(client, uri, lambda d: len(d) > 0)
    assert _codes(found) == ["E202"]
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), found[0].range, types.CodeActionContext(diagnostics=list(found))
        )
    )
    assert actions is not None and len(actions) == 1 and isinstance(actions[0], types.CodeAction)
    assert actions[0].edit is not None and actions[0].edit.changes is not None
    (edit,) = actions[0].edit.changes[uri]
    assert edit.range.start == _position(WINBACK_YAML, "repeat_cupon") and edit.new_text == "repeat_coupon"
    assert edit.range.end.character - edit.range.start.character == len("repeat_cupon")
    timing = await _hover(client, uri, _position(WINBACK_YAML, "delay", after=1))
    assert "`day 7 at 10:00` → for an entry on 2026-12-01 14:00 JST, sent 2026-12-08 10:00 JST" in timing
    key = await _hover(client, uri, _position(WINBACK_YAML, "kind", after=1))
    assert key.startswith("**kind**: sell")  # the schema's description


# --------------------------------------------------------------------------- broken files, files outside a project


@pytest.mark.asyncio(loop_scope="module")
async def test_a_file_that_does_not_parse_gets_its_syntax_finding(client: LanguageClient, project: Path):
    broken = WINBACK.replace("  kind sell\n", "  kind sell sell\n")
    uri = _open(client, project / "scenarios" / "broken.ecrm", broken)
    found = await _diagnostics(client, uri, lambda d: len(d) > 0)
    assert _codes(found) == ["E005"]
    assert found[0].range.start.line == 2


@pytest.mark.asyncio(loop_scope="module")
async def test_a_file_outside_any_project_gets_syntax_and_schema_findings(
    client: LanguageClient, tmp_path_factory: pytest.TempPathFactory
):
    folder = tmp_path_factory.mktemp("loose")
    uri = _open(client, folder / "loose.yaml", "segment: x\ntitle: 🎁テスト\nwhere: 12\ncolour: red\n")
    found = await _diagnostics(client, uri, lambda d: len(d) > 0)
    assert set(_codes(found)) == {"E100"}
    text_uri = _open(client, folder / "loose.ecrm", 'scenario x "🎁" {\n  kind\n}\n')
    assert _codes(await _diagnostics(client, text_uri, lambda d: len(d) > 0)) == ["E005"]


@pytest.mark.asyncio(loop_scope="module")
async def test_other_yaml_in_the_project_is_left_alone(client: LanguageClient, project: Path):
    workflow = project / ".github" / "workflows" / "ci.yml"
    uri = _open(client, workflow, "name: ci\non: push\njobs: {}\n")
    assert list(await _diagnostics(client, uri, lambda d: True)) == []


@pytest.mark.asyncio(loop_scope="module")
async def test_a_request_about_an_unknown_document_answers_empty_and_the_server_goes_on(
    client: LanguageClient, project: Path
):
    missing = (project / "scenarios" / "nowhere.ecrm").as_uri()
    result = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(missing), types.Position(0, 0))
    )
    assert result is None
    assert any(  # the failure went to the editor's log
        m.type == types.MessageType.Error and "hover_ failed" in m.message and "nowhere.ecrm" in m.message
        for m in client.log_messages
    )
    uri = _open(client, project / "scenarios" / "winback.ecrm")
    assert await _labels(client, uri, types.Position(5, len("  when segment ")))  # still serving


# --------------------------------------------------------------------------- position encoding


@pytest_lsp.fixture(config=SERVER)
async def utf8_client(lsp_client: LanguageClient, project: Path):
    capabilities = client_capabilities("visual-studio-code")
    capabilities.general = types.GeneralClientCapabilities(
        position_encodings=[types.PositionEncodingKind.Utf16, types.PositionEncodingKind.Utf8]
    )
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=capabilities, root_uri=project.as_uri())
    )
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf8  # offered: preferred
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_utf8_positions_when_the_client_offers_them(utf8_client: LanguageClient, project: Path):
    uri = _open(utf8_client, project / "scenarios" / "winback.ecrm")
    found = await _diagnostics(utf8_client, uri, lambda d: len(d) > 0)
    send_line = WINBACK.split("\n")[SEND_LINE]
    channel = next(d for d in found if d.code == "E203")
    assert channel.range.start.character == len(send_line[: send_line.index("send emial")].encode("utf-8"))


@pytest.mark.asyncio(loop_scope="module")
async def test_nothing_else_went_wrong_while_serving(client: LanguageClient):
    errors = [m.message for m in client.log_messages if m.type == types.MessageType.Error]
    assert [e for e in errors if "nowhere.ecrm" not in e] == []  # only the unknown document above


# --------------------------------------------------------------------------- the editor's language

JAPANESE_SERVER = ClientServerConfig(
    server_command=[sys.executable, "-m", "ecrm_dsl", "lsp"],
    server_env={k: v for k, v in os.environ.items() if k != "ECRM_LANG"},
)


@pytest_lsp.fixture(config=JAPANESE_SERVER)
async def japanese_client(lsp_client: LanguageClient, project: Path):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=project.as_uri(), locale="ja"
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_findings_speak_the_editor_s_language(japanese_client: LanguageClient, project: Path):
    uri = _open(japanese_client, project / "scenarios" / "winback.ecrm")
    found = await _diagnostics(japanese_client, uri, lambda d: len(d) > 0)
    channel = next(d for d in found if d.code == "E203")  # same code and place as in English
    send_line = WINBACK.split("\n")[SEND_LINE]
    assert channel.range.start.character == _units(send_line[: send_line.index("send emial")])
    assert channel.message.startswith("不明なチャネル 'emial'"), channel.message
    assert sorted(d.code for d in found) == ["E201", "E202", "E203", "E205"]  # the codes do not change
