"""Import, store and serve errors in Japanese: the same files, lines, columns, exit codes, paths and status codes as
in English, only the sentences translated (``--lang ja``; the server speaks the language it was started in)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from ecrm_dsl.cli import cli
from ecrm_dsl.language import i18n
from ecrm_dsl.store.database import open_store
from ecrm_dsl.store.revisions import StoreSchemaError
from ecrm_dsl.store.tables import TABLES
from tests.serve.live import f2_world, live_server

PROJECT = Path(__file__).parent / "data" / "import" / "project"
BAD = "\n".join(
    [
        "id,email,birthday,email_opt_in,unknown_thing",
        "C1,a@example.jp,1990-02-30,はい,x",
        "C2,b@example.jp,1990-01-01,maybe,y",
        "C3,c@example.jp,1990-01-01",
        "",
    ]
)


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    yield
    i18n.use("en")


@pytest.fixture
def shop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(PROJECT, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    monkeypatch.delenv("ECRM_LANG", raising=False)
    return root


def ecrm(*args: str) -> tuple[int, list[str]]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr.splitlines()


def customers_in(shop: Path) -> int:
    store = shop / "ecrm.db"
    if not store.exists():
        return 0
    with create_engine(f"sqlite:///{store}").connect() as conn:
        return int(conn.execute(select(func.count()).select_from(TABLES.customers)).scalar_one())


def test_a_bad_csv_is_reported_in_japanese_at_the_same_lines_and_nothing_is_written(shop: Path) -> None:
    (shop / "bad.csv").write_text(BAD, encoding="utf-8")
    english_code, english = ecrm("import", "customers", "bad.csv")
    code, japanese = ecrm("--lang", "ja", "import", "customers", "bad.csv")
    assert code == english_code == 1
    assert japanese[0] == (
        "bad.csv:1: 列 'unknown_thing': ストアにも顧客スキーマにもない顧客属性です"
        " — 顧客スキーマの attributes で宣言するか、マッピングの ignore に加えてください"
    )
    assert english[0] == (
        "bad.csv:1: column 'unknown_thing': is not a customer attribute of the store or the customer schema"
        " — declare it under attributes in the customer schema, or list it under ignore in a mapping"
    )
    assert customers_in(shop) == 0


def test_bad_cells_speak_japanese_with_their_line_and_column(shop: Path) -> None:
    (shop / "bad.csv").write_text(BAD.replace(",unknown_thing", "").replace(",x\n", "\n").replace(",y\n", "\n"))
    english_code, english = ecrm("import", "customers", "bad.csv")
    code, japanese = ecrm("--lang", "ja", "import", "customers", "bad.csv")
    assert code == english_code == 1
    where = [line.split(": ", 1)[0] for line in english[:3]]
    assert where == [line.split(": ", 1)[0] for line in japanese[:3]] == ["bad.csv:2", "bad.csv:3", "bad.csv:4"]
    assert japanese[:3] == [
        "bad.csv:2: 列 'birthday': '1990-02-30' は暦にない日付です — 月と日を確認してください",
        "bad.csv:3: 列 'email_opt_in': 'maybe' は真偽値（true/false）ではありません"
        " — true/false、1/0、yes/no、はい/いいえ のいずれかで書いてください",
        "bad.csv:4: 行のフィールドは 3 個ですが、ヘッダーは 4 個です"
        " — カンマや改行を含む値はダブルクォートで囲んでください",
    ]
    assert customers_in(shop) == 0


def test_a_shift_jis_file_and_a_missing_mapping_are_explained_in_japanese(shop: Path) -> None:
    (shop / "sjis.csv").write_bytes("id,name\nC1,山田 花子\n".encode("cp932"))
    code, japanese = ecrm("--lang", "ja", "import", "customers", "sjis.csv")
    assert code == 1
    assert japanese[0] == (
        "sjis.csv:2: ファイルが UTF-8 のテキストではありません"
        " — 日本の EC の書き出しによくある Shift_JIS（CP932）のようです: --encoding cp932 を付けてください"
    )
    (shop / "ok.csv").write_text("id\nC1\n", encoding="utf-8")
    english_code, english = ecrm("import", "customers", "ok.csv", "--mapping", "eccube5")
    code, japanese = ecrm("--lang", "ja", "import", "customers", "ok.csv", "--mapping", "eccube5")
    assert code == english_code == 2
    assert "'eccube5' is neither a mapping file nor a shipped mapping — did you mean 'eccube4'?" in "\n".join(english)
    wanted = "'eccube5' はマッピングファイルでも同梱のマッピングでもありません — もしかして 'eccube4'？"
    assert wanted in "\n".join(japanese)
    assert customers_in(shop) == 0


def test_a_store_from_a_newer_release_is_refused_in_japanese(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ecrm.db'}"
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    i18n.use("ja")
    with pytest.raises(StoreSchemaError, match=r"新しい ecrm-dsl で更新されています（スキーマリビジョン 9999、"):
        open_store(url)
    i18n.use("en")
    english_code, english = ecrm("status", "--store", url)
    code, japanese = ecrm("--lang", "ja", "status", "--store", url)
    assert code == english_code == 2
    assert "upgraded by a newer ecrm-dsl (schema revision 9999" in "\n".join(english)
    wanted = "このストアは新しい ecrm-dsl で更新されています（スキーマリビジョン 9999、この版では不明）"
    assert wanted in "\n".join(japanese)


def test_the_ingest_api_speaks_the_language_it_was_started_in(tmp_path: Path) -> None:
    """Keys, codes, paths and status codes stay English; the sentences follow the server's language."""
    items = [
        {"id": "C1", "email": "c1@example.jp", "signed_up_at": "2025-03-01 10:00"},
        {"id": "C2", "email": "c2@example.jp", "birthday": "1990-02-30"},
        {"id": "C3", "email": "c3@example.jp"},
    ]
    with live_server(f2_world(tmp_path)) as live:
        english = live.post("/v1/customers", items).json()
        i18n.use("ja")
        japanese = live.post("/v1/customers", items).json()
        unauthorised = live.post("/v1/customers", items, headers={})
    assert english["accepted"] == 1 and japanese["duplicates"] == 1
    assert [(r["index"], r["path"], r["status"]) for r in japanese["rejected"]] == [
        (r["index"], r["path"], r["status"]) for r in english["rejected"]
    ]
    errors = {r["path"]: r["error"] for r in japanese["rejected"]}
    assert errors["/items/0/signed_up_at"] == (
        "'signed_up_at' は \"2025-03-01 10:00\" で、タイムゾーン付きの日時ではありません"
        " — オフセット付きの ISO 8601 で書いてください。例: 2025-03-01T10:00:00+09:00、2025-03-01T01:00:00Z"
    )
    assert errors["/items/1/birthday"] == "'birthday': '1990-02-30' は暦にない日付です — 月と日を確認してください"
    assert unauthorised.status_code == 401
    assert unauthorised.json() == {
        "error": "Bearer トークンがないか、正しくありません"
        " — ECRM_INGEST_TOKENS のトークンを 'Authorization: Bearer <token>' で送ってください"
    }
