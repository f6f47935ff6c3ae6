"""The VS Code extension's ``ecrm.language`` setting, end to end: the server it starts with ``ECRM_LANG=ja`` speaks
Japanese to an editor whose own display language is English (VS Code without the Japanese language pack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import LanguageClient

from tests.lsp_locale import open_session, server_speaking
from tests.test_lsp import _diagnostics, _open

MISSPELT = """\
scenario setting_check "設定の確認" {
  kind nurture
  hypothesis repeat_rate "読み物でリピート率が上がる"
  when order.placed
  day 1 at 10:00: send emial newsletter
}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lsp-setting") / "shop"
    subprocess.run([sys.executable, "-m", "ecrm_dsl", "init", str(root)], check=True, capture_output=True)
    (root / "scenarios" / "setting_check.ecrm").write_text(MISSPELT, encoding="utf-8")
    return root


@pytest_lsp.fixture(config=server_speaking("ja"))
async def english_editor(lsp_client: LanguageClient, project: Path):
    await open_session(lsp_client, project, "en")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_language_setting_wins_over_the_editor_s_locale(english_editor: LanguageClient, project: Path):
    uri = _open(english_editor, project / "scenarios" / "setting_check.ecrm")
    found = await _diagnostics(english_editor, uri, lambda d: any(f.code == "E203" for f in d))
    message = next(d.message for d in found if d.code == "E203")
    assert message.startswith("不明なチャネル 'emial'"), message
