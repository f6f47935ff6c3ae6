"""``ecrm import products``: the catalogue, one row per product, by sku.

A re-import updates what changed (a price, the stock) and never adds a second row. Order lines stored without a
category take their product's category path, so importing the catalogue after the orders fills them (and the
categories of those orders' ``order.placed`` events).
"""

from __future__ import annotations

from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.kinds.base import LoadContext, Loader, SeenKeys
from ecrm_dsl.importer.layouts import PRODUCT
from ecrm_dsl.importer.order_events import ORDER_PLACED_COUNTS, sync_order_events
from ecrm_dsl.importer.problems import Problem
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import product_events, products
from ecrm_dsl.store.upsert import Upserter

FILLED = "order lines given their product's category"


def category_path(text: str, separator: str = "/") -> str:
    """``skincare / lotion`` → ``skincare/lotion`` (levels split at ``separator``); raises ValueError for an empty
    level, or a level that holds a ``/`` when another separator splits them."""
    levels = [level.strip() for level in text.split(separator)]
    if separator != "/" and any("/" in level for level in levels):
        raise ValueError(
            tr("category '{text}' has a level with a '/', which separates the levels of a path", text=text)
        )
    if not all(levels):
        raise ValueError(tr("category '{text}' has an empty level", text=text))
    return "/".join(levels)


class ProductLoader(Loader):
    kind = "products"
    layout = PRODUCT

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        self.counts = {"products": Counts()}
        self.upserter = Upserter(ctx.tables.products, ("sku",))
        self.seen = SeenKeys()
        self.pending: dict[str, tuple[int, dict[str, Any]]] = {}
        self.skus: list[str] = []  # every product of the file, for the order lines without a category
        self.listed: dict[str, product_events.Listing] = {}  # stock and price before this import
        self.written: list[dict[str, Any]] = []

    def add(self, line: int, values: dict[str, Any]) -> None:
        if values.get("category") is not None:
            try:
                values["category"] = category_path(values["category"], self.ctx.options.category_separator)
            except ValueError as exc:
                sep = self.ctx.options.category_separator
                hint = tr(
                    "write the path top level first, levels separated by one {separator}: skincare{separator}lotion",
                    separator=sep,
                )
                self.ctx.problems.add(Problem(line, str(exc), hint, self.label("category")))
                return
        key = values["sku"]
        earlier = self.pending.get(key)
        named, once = tr("product '{sku}'", sku=key), tr("give each product once")
        if self.first_time(self.seen, key, values, line, earlier and earlier[1], named, "sku", once):
            self.pending[key] = (line, values)
            self.skus.append(key)
            if len(self.pending) >= self.ctx.batch_size:
                self.flush()

    def flush(self) -> None:
        pending, self.pending = [values for _, values in self.pending.values()], {}
        if pending and self.ctx.writing:
            self.listed.update(product_events.listings(self.conn, [values["sku"] for values in pending]))
            for status in self.upserter.apply(self.conn, pending):
                self.counts["products"].add(status)
            self.written.extend(pending)

    def finish(self) -> None:
        self.flush()
        self.upserter.close(self.conn)
        if not self.ctx.writing:
            return
        found = product_events.changes(self.listed, self.written)
        for kind, n in sorted(product_events.record(self.conn, found, self.ctx.now).items()):
            self.counts[f"{kind} events"] = Counts(inserted=n)
        lines, orders = products.fill_line_categories(self.conn, self.skus)
        if lines:
            self.counts[FILLED] = Counts(updated=lines)
            self.counts[ORDER_PLACED_COUNTS] = sync_order_events(
                self.conn, self.ctx.tables, orders, {}, self.ctx.batch_size
            )
