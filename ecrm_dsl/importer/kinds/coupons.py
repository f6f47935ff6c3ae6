"""``ecrm import coupons``: unique coupon codes by pool, from the coupon system's export (one code per row).

A re-import updates a code's expiry and never touches who it was given to: a code a send has drawn stays drawn.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from ecrm_dsl.importer.counts import Counts
from ecrm_dsl.importer.kinds.base import LoadContext, Loader, SeenKeys
from ecrm_dsl.importer.layouts import COUPON
from ecrm_dsl.importer.problems import Problem
from ecrm_dsl.language.i18n import tr
from ecrm_dsl.store.upsert import Upserter


class CouponLoader(Loader):
    kind = "coupons"
    layout = COUPON

    def __init__(self, ctx: LoadContext):
        super().__init__(ctx)
        self.counts = {"coupons": Counts()}
        self.upserter = Upserter(ctx.tables.coupons, ("pool", "code"))
        self.seen = SeenKeys()
        self.pending: list[dict[str, Any]] = []

    def add(self, line: int, values: dict[str, Any]) -> None:
        if values.get("expires_at") is not None and values.get("expires_on") is not None:
            self.ctx.problems.add(
                Problem(
                    line,
                    tr("the code has both an expiry time and an expiry date"),
                    tr("give one: expires_at (a moment) or expires_on (valid to the end of that shop day)"),
                    self.label("expires_on"),
                )
            )
            return
        record = {"pool": values["pool"], "code": values["code"], "expires_at": self._expiry(values)}
        named = tr("code '{code}' of pool '{pool}'", code=record["code"], pool=record["pool"])
        once = tr("give each code once")
        if self.first_time(self.seen, (record["pool"], record["code"]), record, line, None, named, "code", once):
            self.pending.append(record)
            if len(self.pending) >= self.ctx.batch_size:
                self.flush()

    def _expiry(self, values: dict[str, Any]) -> datetime | None:
        moment: datetime | None = values.get("expires_at")
        day = values.get("expires_on")
        if day is not None:  # valid through that shop-local day: expires when the next one starts
            return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.ctx.shop_tz)
        return moment

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if pending and self.ctx.writing:
            for status in self.upserter.apply(self.conn, pending):
                self.counts["coupons"].add(status)
