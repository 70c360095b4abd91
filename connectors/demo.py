"""A simulated shop, so ``aftersales demo`` shows a lived-in desk.

Everything comes from one seeded random generator and a fixed "now", so the
same seed and day give the same shop every time.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.base import (
    AfterSaleRecord,
    BuyerRecord,
    Capabilities,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    ReviewRecord,
    ShipmentRecord,
)

PRODUCTS = [
    ("纯棉短袖T恤 男款", ["白色 L", "黑色 XL", "灰色 M"], Decimal("69.00")),
    ("加绒连帽卫衣", ["藏青 L", "燕麦 M"], Decimal("159.00")),
    ("高腰直筒牛仔裤", ["浅蓝 27", "深蓝 28", "黑色 29"], Decimal("189.00")),
    ("真丝睡衣套装", ["香槟 M", "墨绿 L"], Decimal("299.00")),
    ("儿童防水雨靴", ["黄色 28码", "粉色 30码"], Decimal("89.00")),
    ("不锈钢保温杯 500ml", ["银色", "玫瑰金"], Decimal("79.00")),
    ("陶瓷餐具 16件套", ["青花"], Decimal("238.00")),
    ("无线蓝牙耳机", ["白色", "黑色"], Decimal("199.00")),
    ("手工编织草帽", ["米色"], Decimal("45.00")),
    ("乳胶枕头 护颈", ["标准款"], Decimal("129.00")),
    ("新疆阿克苏苹果 5斤装", ["中果", "大果"], Decimal("39.90")),
    ("定制刻字钢笔", ["黑色 F尖"], Decimal("168.00")),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["小雨", "晓明", "静", "伟", "芳", "娜", "磊", "婷婷", "杰", "丽", "强", "敏", "洋", "艳"]
CITIES = [
    ("浙江省", "杭州市", "西湖区"),
    ("上海市", "上海市", "浦东新区"),
    ("广东省", "深圳市", "南山区"),
    ("北京市", "北京市", "朝阳区"),
    ("四川省", "成都市", "武侯区"),
    ("江苏省", "南京市", "鼓楼区"),
]
CARRIERS = ["中通快递", "圆通速递", "顺丰速运", "韵达快递"]
STREETS = ["文一路", "中山北路", "科技园南路", "建国路", "人民南路", "湖南路"]


class DemoConnector:
    """Orders of a made-up Taobao-style shop over the last ``days`` days."""

    platform = "demo"
    capabilities = Capabilities(orders=True, after_sales=True, reviews=True)

    def __init__(
        self,
        *,
        seed: int = 20261123,
        days: int = 60,
        orders_per_day: int = 6,
        now: datetime | None = None,
        page_size: int = 50,
    ) -> None:
        self.seed = seed
        self.days = days
        self.orders_per_day = orders_per_day
        self.now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
        self.page_size = page_size

    def _buyers(self, rng: random.Random) -> list[BuyerRecord]:
        buyers = []
        for n in range(40):
            surname = rng.choice(SURNAMES)
            name = surname + rng.choice(GIVEN)
            province, city, district = rng.choice(CITIES)
            nick_tail = rng.choice(["小姐姐", "先生", "同学", "妈妈", "阿姨"])
            mobile = f"1{rng.choice('3578')}{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
            street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
            buyers.append(
                BuyerRecord(
                    platform_buyer_id=f"demo-buyer-{n:03d}",
                    nick=f"{surname}{nick_tail}{rng.randint(10, 99)}",
                    name=name,
                    phone=mobile,
                    address=f"{province}{city}{district}{street}",
                )
            )
        return buyers

    def all_orders(self) -> list[OrderRecord]:
        rng = random.Random(self.seed)
        buyers = self._buyers(rng)
        orders: list[OrderRecord] = []
        start = self.now - timedelta(days=self.days)
        serial = 0
        for day in range(self.days):
            for _ in range(rng.randint(self.orders_per_day // 2, self.orders_per_day * 3 // 2)):
                serial += 1
                created = start + timedelta(days=day, minutes=rng.randint(0, 24 * 60 - 1))
                orders.append(self._order(rng, serial, created, rng.choice(buyers)))
        return orders

    def _order(
        self, rng: random.Random, serial: int, created: datetime, buyer: BuyerRecord
    ) -> OrderRecord:
        items = []
        for line in range(rng.choice([1, 1, 1, 2, 3])):
            title, variants, price = rng.choice(PRODUCTS)
            quantity = rng.choice([1, 1, 1, 2])
            items.append(
                OrderItemRecord(
                    platform_item_id=f"{serial}-{line + 1}",
                    title=title,
                    sku=rng.choice(variants),
                    quantity=quantity,
                    unit_price=price,
                    amount=price * quantity,
                )
            )
        total = sum((i.amount for i in items), Decimal("0"))
        discount = Decimal(rng.choice([0, 0, 5, 10])) if total > 100 else Decimal("0")
        age = self.now - created
        roll = rng.random()
        paid_at = shipped_at = None
        if age < timedelta(days=3) and roll < 0.15:
            status, platform_status = OrderStatus.AWAITING_PAYMENT, "WAIT_BUYER_PAY"
        elif roll < 0.05:
            status, platform_status = OrderStatus.CLOSED, "TRADE_CLOSED_BY_TAOBAO"
        else:
            paid_at = created + timedelta(minutes=rng.randint(1, 90))
            if age < timedelta(days=4) and rng.random() < 0.35:
                status, platform_status = OrderStatus.AWAITING_SHIPMENT, "WAIT_SELLER_SEND_GOODS"
            else:
                shipped_at = paid_at + timedelta(hours=rng.randint(2, 40))
                if age < timedelta(days=10):
                    status, platform_status = OrderStatus.SHIPPED, "WAIT_BUYER_CONFIRM_GOODS"
                else:
                    status, platform_status = OrderStatus.COMPLETED, "TRADE_FINISHED"
        updated = max(t for t in (created, paid_at, shipped_at) if t is not None)
        return OrderRecord(
            platform_order_id=f"{4100000000000 + serial * 7919}",
            status=status,
            platform_status=platform_status,
            buyer=buyer,
            total_amount=total,
            paid_amount=total - discount if paid_at else Decimal("0"),
            created_at=created,
            paid_at=paid_at,
            shipped_at=shipped_at,
            updated_at=updated,
            items=items,
            shipments=[
                ShipmentRecord(
                    carrier=CARRIERS[serial % len(CARRIERS)],
                    tracking_no=f"{7531000000000 + serial * 104729}",
                    shipped_at=shipped_at,
                )
            ]
            if shipped_at
            else [],
        )

    async def orders(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[OrderRecord]]:
        """Pages in id order; the cursor is the index of the next record."""
        records = self.all_orders()
        position = int(cursor or 0)
        while position < len(records):
            page = records[position : position + self.page_size]
            position += len(page)
            yield Page(records=page, cursor=str(position))

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """The demo shop has no after-sale requests yet (the refunds issue adds them)."""
        yield Page(records=[], cursor=cursor)

    async def reviews(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[ReviewRecord]]:
        yield Page(records=[], cursor=cursor)

    async def order(self, platform_order_id: str) -> OrderRecord:
        for record in self.all_orders():
            if record.platform_order_id == platform_order_id:
                return record
        raise PlatformError(f"no demo order {platform_order_id}", status=404)

    async def aclose(self) -> None:
        return None

    async def check(self) -> None:
        """The demo shop is always reachable."""
        return None


def connect(*, base_url: str | None, credentials: dict[str, str], **options: Any) -> DemoConnector:
    """Entry point ``aftersales.connectors: demo``; needs no credentials.

    HTTP options (timeouts, retries) mean nothing to a shop that lives in memory.
    """
    known = {"seed", "days", "orders_per_day", "now", "page_size"}
    return DemoConnector(**{k: v for k, v in options.items() if k in known})
