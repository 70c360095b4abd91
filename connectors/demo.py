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
    AfterSaleKind,
    AfterSaleRecord,
    BuyerRecord,
    Capabilities,
    ConnectorManifest,
    OrderItemRecord,
    OrderRecord,
    OrderStatus,
    Page,
    PlatformError,
    RefundDecision,
    RefundWrite,
    RefundWriteResult,
    ReviewRecord,
    ShipmentRecord,
)
from connectors.taobao import STATUS_LABELS, refund_status  # the demo shop speaks TOP's words

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
NO_REASON_WORDS = ["拍错了/多拍了", "不想要了", "七天无理由退换货", "地址填错了"]
SHIPPED_REFUND_WORDS = ["少件/漏发", "快递一直没收到", "商品破损", "质量问题"]
RETURN_WORDS = ["尺码不合适", "质量问题", "与商品描述不符", "颜色有色差", "不想要了"]
BUYER_TEXTS = ["", "麻烦尽快处理，谢谢", "收到就这样了", "急用，请尽快", "客服一直不回复"]
# What the demo platform was told, by refund id and by idempotency key (per process).
DECISIONS: dict[str, RefundWriteResult] = {}
DECISIONS_BY_KEY: dict[str, RefundWriteResult] = {}
# Return-and-refund requests: agreeing first waits for the goods, agreeing again pays.
RETURN_REQUESTS: set[str] = set()
CARRIERS = ["中通快递", "圆通速递", "顺丰速运", "韵达快递"]
STREETS = ["文一路", "中山北路", "科技园南路", "建国路", "人民南路", "湖南路"]


# What the desk may ask of this platform (read without connecting: ``capabilities_of``).
CAPABILITIES = Capabilities(
    orders=True, after_sales=True, reviews=True, decide_refund=True, start_refund=True
)


class DemoConnector:
    """Orders of a made-up Taobao-style shop over the last ``days`` days."""

    platform = "demo"
    capabilities = CAPABILITIES

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
            # An order placed minutes ago is paid by now, not later: nothing lies ahead.
            paid_at = min(created + timedelta(minutes=rng.randint(1, 90)), self.now)
            if age < timedelta(days=4) and rng.random() < 0.35:
                status, platform_status = OrderStatus.AWAITING_SHIPMENT, "WAIT_SELLER_SEND_GOODS"
            else:
                shipped_at = paid_at + timedelta(hours=rng.randint(2, 40))
                if shipped_at > self.now:  # not yet: a parcel cannot leave in the future
                    shipped_at = None
                    status, platform_status = (
                        OrderStatus.AWAITING_SHIPMENT,
                        "WAIT_SELLER_SEND_GOODS",
                    )
                elif age < timedelta(days=10):
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

    def all_refunds(self) -> list[AfterSaleRecord]:
        """One paid order in ten (three in ten this week) asks for money back, in every kind.

        A separate generator keeps the orders exactly as they were before the
        demo had refunds. Requests the desk decided come back decided: the
        demo platform remembers write-backs (``DECISIONS``) like a real one.
        """
        rng = random.Random(self.seed + 1)
        refunds: list[AfterSaleRecord] = []
        for order in self.all_orders():
            recent = self.now - order.created_at < timedelta(days=6)
            if order.paid_at is None or rng.random() > (0.3 if recent else 0.1):
                continue
            line = rng.choice(order.items)
            shipped = order.shipped_at is not None
            if not shipped:
                kind, reasons = AfterSaleKind.REFUND_ONLY, NO_REASON_WORDS
            elif rng.random() < 0.12:
                kind, reasons = AfterSaleKind.EXCHANGE, ["尺码不合适", "颜色不喜欢"]
            elif rng.random() < 0.45:
                kind, reasons = AfterSaleKind.REFUND_ONLY, SHIPPED_REFUND_WORDS
            else:
                kind, reasons = AfterSaleKind.RETURN_AND_REFUND, RETURN_WORDS
            start = order.shipped_at or order.paid_at
            created = start + timedelta(hours=rng.randint(1, 72))
            if created > self.now:
                created = self.now - timedelta(minutes=rng.randint(5, 120))
            answer = timedelta(hours=48) if not shipped else timedelta(days=5)
            deadline = created + answer
            if deadline > self.now:
                status = "WAIT_SELLER_AGREE"
            else:
                status = rng.choice(
                    ["SUCCESS", "SUCCESS", "SUCCESS", "CLOSED", "SELLER_REFUSE_BUYER"]
                )
            # Never more than the buyer paid for the line (a discount may have cut it).
            whole = min(line.amount, order.paid_amount)
            amount = whole if rng.random() < 0.8 else (whole / 2).quantize(Decimal("0.01"))
            refund_id = f"{order.platform_order_id}{len(refunds) % 10}"
            decided = DECISIONS.get(refund_id)
            if kind is AfterSaleKind.RETURN_AND_REFUND:
                RETURN_REQUESTS.add(refund_id)
            updated = created + timedelta(hours=rng.randint(0, 30))
            refunds.append(
                AfterSaleRecord(
                    platform_refund_id=refund_id,
                    platform_order_id=order.platform_order_id,
                    platform_item_id=line.platform_item_id,
                    kind=kind,
                    status=refund_status(decided.platform_status if decided else status),
                    platform_status=decided.platform_status if decided else status,
                    requested_amount=amount,
                    reason=rng.choice(reasons),
                    buyer_text=rng.choice(BUYER_TEXTS),
                    created_at=created,
                    updated_at=min(updated, self.now) if not decided else self.now,
                    platform_deadline=deadline if status == "WAIT_SELLER_AGREE" else None,
                )
            )
        return refunds

    async def after_sales(
        self, cursor: str | None, *, since: datetime | None = None
    ) -> AsyncIterator[Page[AfterSaleRecord]]:
        """Pages in order; the cursor is the index of the next request."""
        records = self.all_refunds()
        position = int(cursor or 0)
        while position < len(records):
            page = records[position : position + self.page_size]
            position += len(page)
            yield Page(records=page, cursor=str(position))
        if not records:
            yield Page(records=[], cursor=cursor)

    async def decide_refund(self, write: RefundWrite, *, idempotency_key: str) -> RefundWriteResult:
        """The demo platform agrees to every decision, once per idempotency key.

        A return-and-refund request agreed the first time waits for the goods
        (as Taobao's WAIT_BUYER_RETURN_GOODS); agreed again, it pays.
        """
        if idempotency_key in DECISIONS_BY_KEY:
            return DECISIONS_BY_KEY[idempotency_key].model_copy(update={"already_done": True})
        status = "SUCCESS" if write.decision is RefundDecision.APPROVE else "SELLER_REFUSE_BUYER"
        earlier = DECISIONS.get(write.platform_refund_id or "")
        if (
            status == "SUCCESS"
            and write.platform_refund_id in RETURN_REQUESTS
            and (earlier is None or earlier.platform_status != "WAIT_BUYER_RETURN_GOODS")
        ):
            status = "WAIT_BUYER_RETURN_GOODS"  # the goods come back before the money
        result = RefundWriteResult(
            platform_refund_id=write.platform_refund_id,
            status=refund_status(status),
            platform_status=status,
        )
        DECISIONS_BY_KEY[idempotency_key] = result
        if write.platform_refund_id:
            DECISIONS[write.platform_refund_id] = result
        return result

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


manifest = ConnectorManifest(
    platform="demo",
    label="Demo shop",
    factory=connect,
    capabilities=CAPABILITIES,
    base_url_label="",
    status_labels=STATUS_LABELS,
    buyer_locale="zh_CN",
)
