"""``ecrm import subscriptions``: one row per subscription (定期購入), by subscription id."""

from __future__ import annotations

from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.kinds.base import KnownIds, LoadContext, Loader, SeenKeys
from ecrm_dsl.importer.layouts import SUBSCRIPTION
from ecrm_dsl.importer.problems import Problem
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.upsert import Upserter


class SubscriptionLoader(Loader):
    kind = "subscriptions"
    layout = SUBSCRIPTION

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        self.counts = {"subscriptions": Counts()}
        self.upserter = Upserter(ctx.tables.subscriptions, ("id",))
        self.customers = KnownIds(ctx.tables.customers)
        self.seen = SeenKeys()
        self.pending: dict[str, tuple[int, dict[str, Any]]] = {}

    def add(self, line: int, values: dict[str, Any]) -> None:
        key = values["id"]
        earlier = self.pending.get(key)
        named, once = tr("subscription '{id}'", id=key), tr("give each subscription once")
        if self.first_time(self.seen, key, values, line, earlier and earlier[1], named, "id", once):
            self.pending[key] = (line, values)
            if len(self.pending) >= self.ctx.batch_size:
                self.flush()

    def flush(self) -> None:
        pending, self.pending = list(self.pending.values()), {}
        missing = self.customers.missing(self.conn, {values["customer_id"] for _, values in pending})
        for line, values in pending:
            if values["customer_id"] in missing:
                self.ctx.problems.add(
                    Problem(
                        line,
                        tr("customer '{id}' is not in the store", id=values["customer_id"]),
                        tr("import the customers first: ecrm import customers FILE"),
                        self.label("customer_id"),
                    )
                )
        if pending and self.ctx.writing:
            for status in self.upserter.apply(self.conn, [values for _, values in pending]):
                self.counts["subscriptions"].add(status)
