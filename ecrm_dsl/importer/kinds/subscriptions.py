"""``ecrm import subscriptions``: one row per subscription (定期購入), by subscription id."""

from __future__ import annotations

from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.kinds.base import NEW, REPEAT, KnownIds, LoadContext, Loader, SeenKeys, differing
from ecrm_dsl.importer.layouts import SUBSCRIPTION
from ecrm_dsl.importer.problems import Problem
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
        seen = self.seen.check(key, values, line)
        if seen == REPEAT:
            self.counts["subscriptions"].repeated += 1
        elif seen != NEW:
            earlier = self.pending.get(key)
            what = ", ".join(differing(values, earlier[1])) if earlier else "values"
            self.ctx.problems.add(
                Problem(
                    line,
                    f"subscription '{key}' is also on line {seen}, with different {what}",
                    "give each subscription once",
                    self.label("id"),
                )
            )
        else:
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
                        f"customer '{values['customer_id']}' is not in the store",
                        "import the customers first: ecrm import customers FILE",
                        self.label("customer_id"),
                    )
                )
        if pending and self.ctx.writing:
            for status in self.upserter.apply(self.conn, [values for _, values in pending]):
                self.counts["subscriptions"].add(status)
