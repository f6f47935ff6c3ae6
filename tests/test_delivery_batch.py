"""Batch CSV files for dm and insert (idempotent, BOM, shop-local day) and the redacting demo outbox."""

from __future__ import annotations

import csv
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ecrm_dsl.delivery.batch import COLUMNS, BatchFileAdapter
from ecrm_dsl.delivery.outbox import ConsoleAdapter, FileAdapter
from tests.test_delivery_support import CONTENT, RECIPIENT, make_message

# 2025-02-28 15:30 UTC is 2025-03-01 00:30 in Tokyo: the file is named after the shop's day.
LATE_UTC = datetime(2025, 2, 28, 15, 30, tzinfo=UTC)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dm_rows_go_to_a_utf8_bom_csv_per_shop_day(tmp_path: Path) -> None:
    adapter = BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC)
    assert adapter.send(make_message("dm")).status == "sent"
    assert adapter.send(make_message("dm", key="43:dm")).status == "sent"
    path = tmp_path / "dm" / "2025-03-01.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and raw.count(b"\xef\xbb\xbf") == 1  # one BOM, at the start only
    assert raw.decode("utf-8-sig").splitlines()[0] == ",".join(COLUMNS)
    first, second = rows(path)
    assert first == {
        "idempotency_key": "42:coupon",
        "customer_id": "c-1001",
        "name": "山田 花子",
        "postal_address": RECIPIENT.postal_address,
        "design": "DM-2025-SPRING",
        "copy": CONTENT["dm"]["copy"],  # the line break survives quoting
        "scenario": "f2_step_mail",
        "node": "coupon",
    }
    assert second["idempotency_key"] == "43:dm"


def test_a_key_is_written_once_across_retries_restarts_and_midnight(tmp_path: Path) -> None:
    message = make_message("dm")
    assert BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC).send(message).status == "sent"
    again = BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC)  # a new process
    assert again.send(message).status == "sent"
    assert again.send(message).provider_id == "dm/2025-03-01.csv"
    tomorrow = BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC.replace(day=1, month=3))
    assert tomorrow.send(message).status == "sent"
    assert [p.name for p in sorted((tmp_path / "dm").glob("*.csv"))] == ["2025-03-01.csv"]
    assert len(rows(tmp_path / "dm" / "2025-03-01.csv")) == 1


def test_concurrent_writers_still_write_each_key_once(tmp_path: Path) -> None:
    adapters = [BatchFileAdapter("insert", tmp_path, clock=lambda: LATE_UTC) for _ in range(4)]  # four "processes"
    messages = [make_message("insert", key=f"{n}:insert") for n in range(25)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda pair: pair[0].send(pair[1]), [(a, m) for a in adapters for m in messages]))
    assert {r.status for r in results} == {"sent"}
    keys = [row["idempotency_key"] for row in rows(tmp_path / "insert" / "2025-03-01.csv")]
    assert sorted(keys) == sorted(m.idempotency_key for m in messages)


def test_dm_needs_an_address_but_a_package_insert_does_not(tmp_path: Path) -> None:
    nowhere = replace(RECIPIENT, postal_address=None)
    dm = BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC).send(make_message("dm", recipient=nowhere))
    assert (dm.status, dm.error) == ("permanent", "no postal address")
    insert = BatchFileAdapter("insert", tmp_path, clock=lambda: LATE_UTC)
    assert insert.send(make_message("insert", recipient=nowhere)).status == "sent"
    assert rows(tmp_path / "insert" / "2025-03-01.csv")[0]["design"] == "INS-SAMPLE-01"
    assert not (tmp_path / "dm" / "2025-03-01.csv").exists()


def test_cells_that_excel_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    evil = replace(RECIPIENT, name='=HYPERLINK("http://evil.example","請求書")')
    BatchFileAdapter("dm", tmp_path, clock=lambda: LATE_UTC).send(make_message("dm", recipient=evil))
    assert rows(tmp_path / "dm" / "2025-03-01.csv")[0]["name"] == "'" + (evil.name or "")


def test_batch_files_are_only_for_dm_and_insert(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        BatchFileAdapter("email", tmp_path)


def test_file_outbox_writes_json_lines_without_contact_details(tmp_path: Path) -> None:
    adapter = FileAdapter("email", tmp_path / "outbox" / "email.jsonl")
    message = make_message("email")
    assert adapter.send(message).status == "sent"
    adapter.send(make_message("email", key="43:coupon"))
    adapter.close()
    text = (tmp_path / "outbox" / "email.jsonl").read_text(encoding="utf-8")
    first, second = (json.loads(line) for line in text.splitlines())
    assert first["customer_id"] == "c-1001" and first["idempotency_key"] == "42:coupon"
    assert first["content"]["subject"].startswith("[redacted] 様")  # the name in the greeting is scrubbed too
    assert "クーポンコード: F2-WELCOME-500" in first["content"]["body"]
    assert second["idempotency_key"] == "43:coupon"
    for detail in RECIPIENT.contact_details():
        assert detail not in text


def test_console_outbox_redacts_contact_details_in_every_channel() -> None:
    stream = io.StringIO()
    adapter = ConsoleAdapter("webhook", stream)
    adapter.send(make_message("webhook"))
    adapter.send(make_message("line"))
    output = stream.getvalue()
    assert [json.loads(line)["channel"] for line in output.splitlines()] == ["webhook", "line"]
    assert json.loads(output.splitlines()[0])["content"]["customer_name"] == "[redacted]"
    for detail in RECIPIENT.contact_details():
        assert detail not in output
