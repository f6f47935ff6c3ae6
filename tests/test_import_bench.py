"""100,000-row imports, timed (first import and re-import). Slow, so only with ECRM_IMPORT_BENCH=1:

ECRM_IMPORT_BENCH=1 python -m pytest tests/test_import_bench.py -s
"""

from __future__ import annotations

import csv
import os
import random
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecrm_dsl.cli.import_cmd import import_command

ROWS = int(os.environ.get("ECRM_IMPORT_BENCH_ROWS", "100000"))
pytestmark = pytest.mark.skipif(not os.environ.get("ECRM_IMPORT_BENCH"), reason="set ECRM_IMPORT_BENCH=1")


def generate(folder: Path, n: int) -> None:
    rng = random.Random(1)
    with open(folder / "customers.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "email", "email_opt_in", "birthday", "signed_up_at", "skin_type", "points", "tags"])
        for i in range(n):
            w.writerow(
                [
                    f"C{i:06d}",
                    f"顧客{i}",
                    f"c{i}@example.jp",
                    rng.choice(["はい", "いいえ"]),
                    f"19{rng.randint(50, 99)}/{rng.randint(1, 12)}/{rng.randint(1, 28)}",
                    f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 10:{rng.randint(0, 59):02d}",
                    rng.choice(["dry", "oily", ""]),
                    f"{rng.randint(0, 5000):,}",
                    rng.choice(["vip", "", "新規 vip"]),
                ]
            )
    with open(folder / "orders.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "id",
                "customer_id",
                "ordered_at",
                "paid_at",
                "amount",
                "payment_method",
                "sku",
                "category",
                "quantity",
                "price",
            ]
        )
        order = rows = 0
        while rows < n:
            order += 1
            lines, customer = rng.randint(1, 3), rng.randrange(n)
            at = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:00"
            for k in range(lines):
                w.writerow(
                    [
                        f"O{order:07d}",
                        f"C{customer:06d}",
                        at,
                        at,
                        f"¥{lines * 1000:,}",
                        "credit_card",
                        f"SKU{k}",
                        rng.choice(["food", "skincare"]),
                        1,
                        1000,
                    ]
                )
                rows += 1
    with open(folder / "events.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "type", "occurred_at", "prop.rating", "prop.sku"])
        for _ in range(n):
            w.writerow(
                [
                    f"C{rng.randrange(n):06d}",
                    "review.posted",
                    f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} "
                    f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                    rng.randint(1, 5),
                    f"SKU{rng.randint(0, 9)}",
                ]
            )


def test_100k_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "ecrm.toml").write_text('customer_schema = "customer_schema.yaml"\n', encoding="utf-8")
    (tmp_path / "customer_schema.yaml").write_text(
        "customer_schema: bench\nattributes:\n  skin_type: {type: string}\n  points: {type: int}\n"
        "events:\n  review.posted:\n    properties: {rating: int, sku: string}\n",
        encoding="utf-8",
    )
    generate(tmp_path, ROWS)
    monkeypatch.chdir(tmp_path)
    for attempt in ("import", "re-import"):
        for kind in ("customers", "orders", "events"):
            started = time.perf_counter()
            result = CliRunner().invoke(import_command, [kind, f"{kind}.csv"], catch_exceptions=False)
            seconds = time.perf_counter() - started
            assert result.exit_code == 0, result.stderr
            print(f"{attempt} {kind}: {ROWS} rows in {seconds:.1f}s ({ROWS / seconds:,.0f} rows/s)")
            print("   " + "\n   ".join(result.stdout.splitlines()[1:-1]))
            if attempt == "re-import":
                assert " 0 inserted, 0 updated," in result.stdout
