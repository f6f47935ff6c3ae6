"""``ecrm simulate``'s scratch copy holds the catalogue: both ways of copying (attached, streamed) bring every
product, so a replay's messages show the same products as the live store's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, insert, select

from ecrm_dsl.simulate.scratch import _attach_copy, _streamed_copy, open_scratch
from ecrm_dsl.store.tables import TABLES
from tests.runtime.world import World

PRODUCTS = [  # sku, name, category, price, launched_on, stock
    ("LOTION-150", "発酵化粧水 150ml", "skincare/lotion", 2980, None, 0),
    ("GENMAI-1KG", "発芽玄米 1kg", "food/rice", None, dt.date(2024, 1, 1), None),
]


def catalogue(engine: Engine) -> list[tuple[object, ...]]:
    p = TABLES.products
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(p).order_by(p.c.sku))]


def test_both_copies_bring_the_catalogue(tmp_path: Path) -> None:
    w = World(tmp_path / "source")
    w.customer("a")
    with w.engine.begin() as conn:
        names = ("sku", "name", "category", "price", "launched_on", "stock")
        conn.execute(insert(TABLES.products), [dict(zip(names, row, strict=True)) for row in PRODUCTS])
    expected = catalogue(w.engine)
    assert len(expected) == 2
    attached, streamed = open_scratch(tmp_path / "attached.db"), open_scratch(tmp_path / "streamed.db")
    assert w.engine.url.database
    counts = _attach_copy(Path(w.engine.url.database), attached, lambda _: None)
    assert counts["products"] == 2
    assert _streamed_copy(w.engine, streamed, lambda _: None)["products"] == 2
    assert catalogue(attached) == catalogue(streamed) == expected
