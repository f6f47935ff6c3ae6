"""``ecrm lsp`` and the rules, end to end (pytest-lsp, the real server): a finding's code links to the rule's page,
and hovering a code in a suppression comment tells the rule — both in the language the editor speaks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.lsp_locale import SERVER, open_session
from tests.test_lsp import _diagnostics, _hover, _open, _position

SUPPRESSED = """\
scenario rules_hover "ルールの説明" {
  kind nurture
  hypothesis repeat_rate "読み物でリピート率が上がる"
  when order.placed where customer.order_count == 1  # ecrm: ignore[W406]
  day 1 at 10:00: send emial newsletter
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-rules") / "shop"
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", str(root)], check=True, capture_output=True)
    (root / "scenarios" / "rules_hover.ecrm").write_text(SUPPRESSED, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=SERVER)
async def english_client(lsp_client: LanguageClient, project: Path):
    await open_session(lsp_client, project, "en")
    yield
    await lsp_client.shutdown_session()


@pytest_lsp.fixture(config=SERVER)
async def japanese_client(lsp_client: LanguageClient, project: Path):
    await open_session(lsp_client, project, "ja")
    yield
    await lsp_client.shutdown_session()


async def _channel_finding(client: LanguageClient, uri: str) -> types.Diagnostic:
    found = await _diagnostics(client, uri, lambda d: any(f.code == "E203" for f in d))
    return next(d for d in found if d.code == "E203")


@pytest.mark.asyncio
async def test_the_code_links_the_english_page_and_a_suppressed_code_is_explained(
    english_client: LanguageClient, project: Path
):
    uri = _open(english_client, project / "scenarios" / "rules_hover.ecrm")
    finding = await _channel_finding(english_client, uri)
    assert finding.code_description is not None
    assert finding.code_description.href.endswith("/docs/rules/E203.md")
    hover = await _hover(english_client, uri, _position(SUPPRESSED, "W406", after=2))
    assert hover.startswith("**W406 never-true**\n\n**warning** · A condition can never be true.\n\n[The rule's page](")
    assert "/docs/rules/W406.md) · `ecrm rule W406`" in hover


@pytest.mark.asyncio
async def test_in_japanese_the_code_links_the_japanese_page_and_the_rule_is_told_in_japanese(
    japanese_client: LanguageClient, project: Path
):
    uri = _open(japanese_client, project / "scenarios" / "rules_hover.ecrm")
    finding = await _channel_finding(japanese_client, uri)
    assert finding.code_description is not None
    assert finding.code_description.href.endswith("/docs/rules/ja/E203.md")
    hover = await _hover(japanese_client, uri, _position(SUPPRESSED, "W406", after=2))
    assert hover.startswith(
        "**W406 never-true**\n\n**警告（warning）** · 条件が決して真になりません。\n\n[ルールのページ]("
    )
    assert "/docs/rules/ja/W406.md) · `ecrm rule W406`" in hover
