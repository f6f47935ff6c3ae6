"""``ecrm import orders`` and ``ecrm import order_items``.

An orders file has one row per order, or — when it has a ``sku`` column — one row per order line, the order
columns repeated on every line of the order (they must agree). An order_items file adds lines to orders
already in the store. Either way each order's ``order.placed`` event is created or brought up to date.

Mapping options of ``[orders]``: ``derive_id = true`` for exports without an order id (every row is one order;
see :mod:`ecrm_dsl.importer.order_ids`), and ``create_missing_customers = true`` for purchase histories that
come without a customers file (a customer the store lacks is created with its id only).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.header import Binding, Resolver, Unresolved
from ecrm_dsl.importer.kinds.base import NEW, REPEAT, KnownIds, LoadContext, Loader, SeenKeys, differing
from ecrm_dsl.importer.kinds.products import FILLED
from ecrm_dsl.importer.layouts import ITEM, ORDER, ORDER_ITEM, ORDER_LINE, Column
from ecrm_dsl.importer.order_events import ORDER_PLACED_COUNTS, sync_order_events
from ecrm_dsl.importer.order_ids import DerivedIds
from ecrm_dsl.importer.problems import Problem
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store import products
from ecrm_dsl.store.imports import insert_rows
from ecrm_dsl.store.upsert import Upserter


class _ItemsMixin(Loader):
    """Order lines and the order.placed events of the orders they belong to."""

    def _init_items(self) -> None:
        self.items = Upserter(self.ctx.tables.order_items, ("order_id", "sku"))
        self.seen_items = SeenKeys()
        self.pending_items: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.order_ids: dict[str, None] = {}  # every order of the file, in file order
        self.moved: dict[str, str] = {}  # order id → its customer before this import moved it
        self.skus: dict[str, None] = {}  # every sku of the file's lines
        self.counts["order_items"] = Counts()

    def _add_item(self, line: int, item: dict[str, Any]) -> None:
        key = (item["order_id"], item["sku"])
        seen = self.seen_items.check(key, item, line)
        if seen == REPEAT:
            self.counts["order_items"].repeated += 1
        elif seen != NEW:
            earlier = self.pending_items.get(key)
            if earlier:
                message = tr(
                    "order '{order}' has sku '{sku}' also on line {line}, with different {columns}",
                    order=key[0],
                    sku=key[1],
                    line=seen,
                    columns=", ".join(differing(item, earlier[1])),
                )
            else:
                message = tr(
                    "order '{order}' has sku '{sku}' also on line {line}, with different values",
                    order=key[0],
                    sku=key[1],
                    line=seen,
                )
            self.ctx.problems.add(
                Problem(
                    line,
                    message,
                    tr("give each product of an order on one line"),
                    self.label("sku"),
                )
            )
        else:
            self.pending_items[key] = (line, item)

    def _write_items(self) -> None:
        pending, self.pending_items = [v for _, v in self.pending_items.values()], {}
        self.skus.update((item["sku"], None) for item in pending)
        if pending and self.ctx.writing:
            for status in self.items.apply(self.conn, pending):
                self.counts["order_items"].add(status)

    def finish(self) -> None:
        self.flush()
        self.items.close(self.conn)
        if self.ctx.writing:
            # Lines without a category take their product's (other orders' lines of these skus too).
            lines, filled = products.fill_line_categories(self.conn, self.skus)
            order_ids = dict.fromkeys([*self.order_ids, *filled])
            self.counts[ORDER_PLACED_COUNTS] = sync_order_events(
                self.conn, self.ctx.tables, order_ids, self.moved, self.ctx.batch_size
            )
            if lines:
                self.counts[FILLED] = Counts(updated=lines)


class OrderLoader(_ItemsMixin):
    kind = "orders"
    layout = ORDER_LINE

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        options = ctx.options
        self.derived_ids = DerivedIds(ctx.shop_tz) if options.derive_id else None
        if self.derived_ids is not None:  # every row is one order, and the file has no id
            self.columns = {name: column for name, column in ORDER.items() if name != "id"}
        self.counts = {"customers": Counts()} if options.create_missing_customers else {}
        self.counts["orders"] = Counts()
        self.orders = Upserter(ctx.tables.orders, ("id",), self._note_moved)
        self.seen_orders = SeenKeys()
        self.pending_orders: dict[str, tuple[int, dict[str, Any]]] = {}
        self.customers = KnownIds(ctx.tables.customers)
        self.referenced: set[str] = set()  # customers the file names, when missing ones are created
        self.with_lines = False
        self._init_items()

    @property
    def extra(self) -> Resolver:
        return self._not_with_derived_ids

    def _not_with_derived_ids(self, name: str) -> Column | Unresolved:
        if self.derived_ids is not None and name == "id":
            return Unresolved(
                tr("is not read: the mapping derives order ids (derive_id = true)"),
                tr("list it under ignore, or remove derive_id to use the file's ids"),
            )
        if self.derived_ids is not None and name in ITEM:
            return Unresolved(
                tr("is an order line column, but with derive_id = true every row is one order"),
                tr("list it under ignore, or import order lines from a file with order ids"),
            )
        return Unresolved(tr("is not a column of this import"))

    def required(self, binding: Binding) -> list[str]:
        lines = any(binding.has(name) for name in ITEM)
        return [c.name for c in (ORDER_LINE if lines else ORDER).values() if c.required and c.name in self.columns]

    def begin(self, conn: Connection, binding: Binding) -> None:
        super().begin(conn, binding)
        self.with_lines = binding.has("sku")
        if not self.with_lines:
            del self.counts["order_items"]

    def add(self, line: int, values: dict[str, Any]) -> None:
        if self.derived_ids is not None:
            values["id"] = self.derived_ids.next(values["customer_id"], values["ordered_at"])
        order = {k: v for k, v in values.items() if k in ORDER}
        key = order["id"]
        seen = self.seen_orders.check(key, order, line)
        if seen == REPEAT and not self.with_lines:
            self.counts["orders"].repeated += 1
        elif seen not in (NEW, REPEAT):
            earlier = self.pending_orders.get(key)
            if earlier:
                message = tr(
                    "order '{order}' is also on line {line}, with different {columns}",
                    order=key,
                    line=seen,
                    columns=", ".join(differing(order, earlier[1])),
                )
            else:
                message = tr(
                    "order '{order}' is also on line {line}, with different order values", order=key, line=seen
                )
            hint = (
                tr("every line of an order repeats the same order columns")
                if self.with_lines
                else tr("give each order once")
            )
            self.ctx.problems.add(Problem(line, message, hint, self.label("id")))
            return
        elif seen == NEW:
            self.pending_orders[key] = (line, order)
            self.order_ids[key] = None
        if self.with_lines:
            self._add_item(line, {"order_id": key, **{k: v for k, v in values.items() if k in ITEM}})
        if len(self.pending_orders) + len(self.pending_items) >= self.ctx.batch_size:
            self.flush()

    def flush(self) -> None:
        pending, self.pending_orders = list(self.pending_orders.values()), {}
        missing = self.customers.missing(self.conn, {order["customer_id"] for _, order in pending})
        if "customers" in self.counts:
            missing = self._create_customers({order["customer_id"] for _, order in pending}, missing)
        for line, order in pending:
            if order["customer_id"] in missing:
                self.ctx.problems.add(
                    Problem(
                        line,
                        tr("customer '{id}' is not in the store", id=order["customer_id"]),
                        tr("import the customers first: ecrm import customers FILE"),
                        self.label("customer_id"),
                    )
                )
        if pending and self.ctx.writing:
            for status in self.orders.apply(self.conn, [order for _, order in pending]):
                self.counts["orders"].add(status)
        self._write_items()

    def _create_customers(self, named: set[str], missing: set[str]) -> set[str]:
        """Create the missing customers (id only), as the mapping asks; none is missing then."""
        counts = self.counts["customers"]
        counts.unchanged += len(named - self.referenced - missing)
        self.referenced |= named
        if missing and self.ctx.writing:  # after a problem nothing is written, and no customer is missing
            insert_rows(self.conn, self.ctx.tables.customers, [{"id": c} for c in sorted(missing)])
            counts.inserted += len(missing)
        self.customers.known |= missing
        return set()

    def _note_moved(self, stored: Mapping[str, Any] | None, record: dict[str, Any]) -> dict[str, Any]:
        if stored is not None and stored["customer_id"] != record["customer_id"]:
            self.moved[record["id"]] = stored["customer_id"]
        return record


class OrderItemLoader(_ItemsMixin):
    kind = "order_items"
    layout = ORDER_ITEM

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        self.orders = KnownIds(ctx.tables.orders)
        self._init_items()

    def add(self, line: int, values: dict[str, Any]) -> None:
        self._add_item(line, values)
        self.order_ids[values["order_id"]] = None
        if len(self.pending_items) >= self.ctx.batch_size:
            self.flush()

    def flush(self) -> None:
        missing = self.orders.missing(self.conn, {order_id for order_id, _ in self.pending_items})
        for (order_id, _), (line, _) in self.pending_items.items():
            if order_id in missing:
                self.ctx.problems.add(
                    Problem(
                        line,
                        tr("order '{id}' is not in the store", id=order_id),
                        tr("import the orders first: ecrm import orders FILE"),
                        self.label("order_id"),
                    )
                )
        self._write_items()
