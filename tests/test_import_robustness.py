"""``ecrm import`` never fails without a line: every malformed input is a positioned error, nothing written, exit 1.

The named cases are the ones that once ended in an internal error (a timezone conversion past year 1 or 9999,
integers SQLite cannot hold, JSON and TOML nested deep enough to exhaust the stack, a codec that is not a text
encoding); the property test feeds mutated sample files to every kind of import.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecrm_dsl.cli.import_cmd import import_command
from ecrm_dsl.importer import shipped

DATA = Path(__file__).parent / "data" / "import"
SAMPLES = [  # (kind, sample): every kind, and platform exports read through a shipped mapping
    ("customers", "customers.csv"),
    ("orders", "order_lines.csv"),
    ("order_items", "order_items.csv"),
    ("subscriptions", "subscriptions.csv"),
    ("events", "events.csv"),
    ("orders", "platforms/shopify_orders.csv"),
    ("orders", "platforms/eccube4_orders.csv"),
    ("customers", "platforms/eccube4_customers.csv"),
]


@dataclass
class Run:
    code: int
    out: str
    err: str
    exception: BaseException | None


def run(*args: str | Path) -> Run:
    result = CliRunner().invoke(import_command, [str(a) for a in args])
    exception = result.exception if not isinstance(result.exception, SystemExit) else None
    return Run(result.exit_code, result.stdout, result.stderr, exception)


def store_bytes(root: Path) -> bytes:
    """The store as files on disk: the database and any write-ahead log beside it."""
    digest = hashlib.sha256()
    for suffix in ("", "-wal"):
        path = root / f"ecrm.db{suffix}"
        digest.update(path.read_bytes() if path.exists() else b"<none>")
    return digest.digest()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project whose store holds the samples' customers, orders and subscriptions."""
    root = tmp_path_factory.mktemp("pristine")
    shutil.copytree(DATA / "project", root, dirs_exist_ok=True)
    for name in ("customers.csv", "orders.csv", "subscriptions.csv"):
        shutil.copy(DATA / name, root / name)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("ECRM_STORE", raising=False)
        for kind in ("customers", "orders", "subscriptions"):
            result = run(kind, f"{kind}.csv")
            assert result.code == 0, result.err
    return root


@pytest.fixture
def shop(pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(pristine, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    return root


def refused(shop: Path, kind: str, text: str, *options: str, encoding: str = "utf-8") -> Run:
    """Import ``text`` as KIND; it must be refused with exit 1, no traceback, and the store untouched."""
    (shop / "bad.csv").write_bytes(text.encode(encoding))
    before = store_bytes(shop)
    result = run(kind, "bad.csv", *options)
    assert result.exception is None, result.exception
    assert result.code == 1, result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    assert store_bytes(shop) == before
    return result


# --------------------------------------------------------------------------- the cases that once crashed


@pytest.mark.parametrize(
    ("moment", "where"),
    [
        ("0001-01-01 00:00", "bad.csv:2: column 'ordered_at': '0001-01-01 00:00' is outside the years 1900–2999"),
        ("9999-12-31 23:59:59", "bad.csv:2: column 'ordered_at': '9999-12-31 23:59:59' is outside the years"),
        ("0001-01-01T00:00:00+09:00", "bad.csv:2: column 'ordered_at': '0001-01-01T00:00:00+09:00' is outside"),
        ("9999-12-31T23:00:00-05:00", "bad.csv:2: column 'ordered_at': '9999-12-31T23:00:00-05:00' is outside"),
    ],
)
def test_moments_at_the_ends_of_the_calendar(shop: Path, moment: str, where: str) -> None:
    result = refused(shop, "orders", f"id,customer_id,ordered_at,amount\nX1,C001,{moment},100\n")
    assert where in result.err


def test_two_stray_short_lines_in_a_shopify_export_are_problems_not_a_crash(shop: Path) -> None:
    # Shopify fills an order's cells down onto its later lines; two equal one-cell lines once made it reach past
    # the end of the row.
    sample = (DATA / "platforms" / "shopify_orders.csv").read_text(encoding="utf-8").rstrip("\n")
    result = refused(shop, "orders", sample + "\n0001-01-01 00:00\n0001-01-01 00:00\n")
    assert "the row has 1 fields but the header has 70" in result.err


def test_dates_at_the_ends_of_the_calendar_in_every_spelling(shop: Path) -> None:
    text = "id,birthday,signed_up_at\nC001,0001-01-01,\nC002,9999/12/31,\nC003,,0001/01/01 00:00:00\n"
    result = refused(shop, "customers", text)
    assert "bad.csv:2: column 'birthday': '0001-01-01' is outside the years 1900–2999" in result.err
    assert "bad.csv:3: column 'birthday': '9999/12/31' is outside" in result.err
    assert "bad.csv:4: column 'signed_up_at': '0001/01/01 00:00:00' is outside" in result.err


def test_a_date_format_from_the_mapping_checks_the_years_too(shop: Path) -> None:
    (shop / "m.toml").write_text('[orders]\ndate_format = "%Y%m%d"\n', encoding="utf-8")
    result = refused(shop, "orders", "id,customer_id,ordered_at,amount\nX1,C001,00010101,100\n", "--mapping", "m.toml")
    assert "bad.csv:2: column 'ordered_at': '00010101' is outside the years" in result.err


@pytest.mark.parametrize("number", ["9223372036854775808", "18446744073709551616", "-9223372036854775809"])
def test_integers_the_store_cannot_hold(shop: Path, number: str) -> None:
    result = refused(shop, "subscriptions", f"id,customer_id,status,shipments\nS9,C001,active,{number}\n")
    assert f"bad.csv:2: column 'shipments': '{number}' is too large" in result.err


def test_amounts_the_store_cannot_hold(shop: Path) -> None:
    text = 'id,customer_id,ordered_at,amount\nX1,C001,2025-03-01 10:00,"¥99,999,999,999,999,999,999"\n'
    assert "bad.csv:2: column 'amount': '¥99,999,999,999,999,999,999' is too large" in refused(shop, "orders", text).err


def test_a_converted_currency_amount_too_large(shop: Path) -> None:
    (shop / "usd.toml").write_text('[orders]\ncurrency = "USD"\nyen_per_unit = "150"\n', encoding="utf-8")
    text = "id,customer_id,ordered_at,amount\nX1,C001,2025-03-01 10:00," + "9" * 40 + "\n"
    result = refused(shop, "orders", text, "--mapping", "usd.toml")
    assert "bad.csv:2: column 'amount':" in result.err and "is too large" in result.err


def test_integers_in_event_properties(shop: Path) -> None:
    header = "customer_id,type,occurred_at,properties\n"
    text = header + 'C001,review.posted,2025-03-01 10:00,"{""rating"": 18446744073709551616}"\n'
    result = refused(shop, "events", text)
    assert "bad.csv:2: column 'properties': '18446744073709551616' is too large" in result.err


def test_deeply_nested_event_properties(shop: Path) -> None:
    deep = '{""a"":' * 5000 + "1" + "}" * 5000
    result = refused(
        shop, "events", f'customer_id,type,occurred_at,properties\nC001,review.posted,2025-03-01 10:00,"{deep}"\n'
    )
    assert "bad.csv:2: column 'properties': is nested more than 32 levels deep" in result.err


def test_json_numbers_that_are_not_finite(shop: Path) -> None:
    text = (
        "customer_id,type,occurred_at,properties\n"
        'C001,survey.answered,2025-03-01 10:00,"{""satisfaction"": NaN}"\n'
        'C001,survey.answered,2025-03-01 11:00,"{""satisfaction"": 1e400}"\n'
    )
    result = refused(shop, "events", text)
    assert "bad.csv:2: column 'properties': NaN is not a number JSON allows" in result.err
    assert "bad.csv:3: column 'properties': 1e400 is too large a number" in result.err


def test_a_deeply_nested_list_cell(shop: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    result = refused(shop, "customers", f"id,tags\nC001,{deep}\n")
    assert "bad.csv:2: column 'tags':" in result.err and "is not a JSON array of strings" in result.err


def test_deeply_nested_mapping_toml(shop: Path) -> None:
    (shop / "deep.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    (shop / "o.csv").write_text("id,customer_id,ordered_at,amount\n", encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "deep.toml")
    assert result.exception is None and result.code == 2
    assert "deep.toml: the mapping nests arrays or tables too deeply" in result.err


@pytest.mark.parametrize("codec", ["rot13", "zlib", "base64", "hex"])
def test_codecs_that_are_not_text_encodings(shop: Path, codec: str) -> None:
    (shop / "o.csv").write_text("id,customer_id,ordered_at,amount\n", encoding="utf-8")
    result = run("orders", "o.csv", "--encoding", codec)
    assert result.exception is None and result.code == 2
    assert f"'{codec}' is not a text encoding" in result.err
    (shop / "m.toml").write_text(f'encoding = "{codec}"\n', encoding="utf-8")
    result = run("orders", "o.csv", "--mapping", "m.toml")
    assert result.exception is None and result.code == 2
    assert f"encoding '{codec}' is not a known text encoding" in result.err


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf_16_be", "punycode", "idna", "utf-7", "cp037"])
def test_text_encodings_the_file_is_not_in(shop: Path, encoding: str) -> None:
    """Each codec complains its own way (UTF-16 about a missing BOM, punycode about code points): a positioned
    error all the same."""
    result = refused(
        shop, "orders", 'id,customer_id,ordered_at,amount\nX1,C001,2025-03-01 10:00,"¥3,980"\n', "--encoding", encoding
    )
    assert result.err.startswith("bad.csv:")


# --------------------------------------------------------------------------- mutated files, every kind

NASTY = [
    "",
    '"',
    '""',
    "0001-01-01 00:00",
    "9999-12-31 23:59:59",
    "0001-01-01",
    "9999-12-31T23:59:59-12:00",
    "2025-02-30",
    "25:61",
    "18446744073709551616",
    "-9223372036854775809",
    "1e400",
    "NaN",
    "[" * 3000,
    '"{' + '""a"":[' * 2000 + '"',
    '"{""rating"": 99999999999999999999}"',
    '"{""satisfaction"": NaN}"',
    "\x00",
    "\ufeff",
    "\r",
    "\n",
    "\u3000",
    "３，０００円",
    "￥-０",
    "=cmd|' /C calc'!A0",
    "\\",
    "\udcff",
    "subscription.shipped",
    "C999",
    "x" * 140_000,
]


@st.composite
def mutated(draw: st.DrawFn, original: bytes) -> bytes:
    """The sample file with a few cells replaced, bytes inserted, lines deleted or the file cut short."""
    lines = original.split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        what = draw(st.sampled_from(["cell", "bytes", "drop", "repeat", "cut"]))
        index = draw(st.integers(0, len(lines) - 1))
        if what == "cell":
            cells = lines[index].split(b",")
            token = draw(st.sampled_from(NASTY)).encode("utf-8", "surrogateescape")
            cells[draw(st.integers(0, len(cells) - 1))] = token
            lines[index] = b",".join(cells)
        elif what == "bytes":
            at = draw(st.integers(0, len(lines[index])))
            junk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"\x82\xa0", b"\xff\xfe", b'"', b","]))
            lines[index] = lines[index][:at] + junk + lines[index][at:]
        elif what == "drop" and len(lines) > 1:
            del lines[index]
        elif what == "repeat":
            lines.insert(index, lines[index])
        elif what == "cut":
            joined = b"\n".join(lines)
            lines = joined[: draw(st.integers(0, len(joined)))].split(b"\n")
    return b"\n".join(lines)


@pytest.mark.parametrize(("kind", "sample"), SAMPLES)
def test_mutated_files_never_crash_and_a_refusal_changes_nothing(
    kind: str, sample: str, pristine: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(pristine, root)
    monkeypatch.chdir(root)
    monkeypatch.delenv("ECRM_STORE", raising=False)
    original = (DATA / sample).read_bytes()

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=mutated(original))
    def check(data: bytes) -> None:
        for suffix in ("", "-wal", "-shm"):
            (root / f"ecrm.db{suffix}").unlink(missing_ok=True)
            if (pristine / f"ecrm.db{suffix}").exists():
                shutil.copy(pristine / f"ecrm.db{suffix}", root / f"ecrm.db{suffix}")
        (root / "fuzz.csv").write_bytes(data)
        before = store_bytes(root)
        result = run(kind, "fuzz.csv")
        assert result.exception is None, f"{type(result.exception).__name__}: {result.exception}"
        assert result.code in (0, 1), result.err  # 2 is a usage error: none of these is one
        assert "internal error" not in result.err and "Traceback" not in result.err
        if result.code == 1:
            assert "fuzz.csv:" in result.err  # every refusal names the file and the line
            assert store_bytes(root) == before

    check()


MAPPINGS = [DATA / "ja_ec_mapping.toml", DATA / "cdnow_mapping.toml", *sorted(shipped.MAPPINGS_DIR.glob("*.toml"))]
TOML_TOKENS = ["[", "]", "[[", "=", '"', "'''", "{", "}", ",", "\n", "true", "1e400", "-0", "\\u0000", "x.y.z", "#"]


@st.composite
def mutated_toml(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(MAPPINGS)).read_text(encoding="utf-8")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(TOML_TOKENS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 40)) :]
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_toml())
def test_mutated_mappings_never_crash(shop: Path, text: str) -> None:
    (shop / "m.toml").write_text(text, encoding="utf-8")
    (shop / "o.csv").write_text("id,customer_id,ordered_at,amount\nX1,C001,2025-03-01 10:00,100\n", encoding="utf-8")
    for kind in ("orders", "customers"):
        result = run(kind, "o.csv", "--mapping", "m.toml")
        assert result.exception is None, f"{type(result.exception).__name__}: {result.exception}"
        assert result.code in (0, 1, 2), result.err
        assert "internal error" not in result.err
