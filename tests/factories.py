"""Plain async factories: ``create_<thing>(*, ...)`` with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from aftersales.core import service
from aftersales.core.config import Settings
from aftersales.core.models import Role, Store, User
from connectors.base import AfterSaleRecord, OrderRecord, Stream
from connectors.demo import DemoConnector

_serial = itertools.count(1)
PASSWORD = "correct horse battery"


async def create_user(
    *, username: str | None = None, role: Role = Role.AGENT, password: str = PASSWORD, **kw: str
) -> User:
    return await service.create_user(username or f"user{next(_serial)}", password, role=role, **kw)


async def create_store(*, name: str = "测试店铺", platform: str = "demo") -> Store:
    return await Store.create(name=name, platform=platform)


# Text a hostile buyer, platform or colleague could put anywhere: markup that runs
# if a page forgets to escape it, and ``%`` that breaks %-formatting.
MARKUP = "<img src=x onerror=alert(1)>"
HOSTILE = f"{MARKUP} 100% off %s"
# A username may not hold spaces; this markup needs none.
HOSTILE_USERNAME = "<svg/onload=alert(1)>%"


class HostileShop(DemoConnector):
    """The demo shop, with markup and ``%`` in every text field the platform sends:
    product titles, SKUs, buyer nicks, names and addresses, carriers, statuses,
    refund reasons and buyer messages. Ids, amounts and state stay the demo's."""

    def __init__(self, *, text: str = HOSTILE, **options: Any) -> None:
        super().__init__(**options)
        self.text = text

    def _hostile(self, value: str | None) -> str:
        return f"{self.text} {value or ''}".strip()

    def all_orders(self) -> list[OrderRecord]:
        orders = []
        for order in super().all_orders():
            buyer = order.buyer.model_copy(
                update={
                    "nick": self._hostile(order.buyer.nick),
                    "name": self._hostile(order.buyer.name),
                    "address": self._hostile(order.buyer.address),
                }
            )
            items = [
                i.model_copy(update={"title": self._hostile(i.title), "sku": self._hostile(i.sku)})
                for i in order.items
            ]
            shipments = [s.model_copy(update={"carrier": self.text}) for s in order.shipments]
            orders.append(
                order.model_copy(
                    update={
                        "buyer": buyer,
                        "items": items,
                        "shipments": shipments,
                        "platform_status": self._hostile(order.platform_status)[:64],
                    }
                )
            )
        return orders

    def all_refunds(self) -> list[AfterSaleRecord]:
        return [
            r.model_copy(update={"reason": f"{r.reason} {self.text}", "buyer_text": self.text})
            for r in super().all_refunds()
        ]


async def create_hostile_shop(*, now: datetime, text: str = HOSTILE) -> Store:
    """A store named ``text``, synced from ``HostileShop`` through the real sync
    (orders, refunds, return cases), so every page has hostile text to show."""
    from aftersales.core.modules import current
    from aftersales.orders.sync import record_handlers, sync_stream

    store = await create_store(name=text)
    connector = HostileShop(text=text, now=now, days=30, orders_per_day=4)
    await sync_stream(store, Stream.ORDERS, connector)
    await sync_stream(store, Stream.AFTER_SALES, connector, handlers=record_handlers(current()))
    return store


async def create_demo_desk(settings: Settings) -> tuple[User, str]:
    """The demo shop's orders, refunds and return cases, and an owner's bearer token.

    For tests that roam the whole API (schemathesis, the malformed-request walk)
    and need real rows behind the ids they try.
    """
    from aftersales import demo

    await demo.load("owner", PASSWORD, settings)
    owner = await User.get(username="owner")
    return owner, await service.create_token(owner, "tests")
