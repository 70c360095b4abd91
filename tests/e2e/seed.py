"""What the demo never shows, added to its database before the desk starts, for the zh-CN scan.

The demo platform agrees to everything and its sync never fails, so a
Chinese page with a failed write-back, a failing sync or an evidence note
would go unread. This loads the demo as ``aftersales demo`` does, then:

- one approval the demo platform refuses (the platform is the fake here:
  its ``decide_refund`` is told to say no), delivered through the real outbox
  and refunds handler, so the refund page shows a failed write-back;
- a Taobao store, paused, whose address nobody answers, synced once through
  the real connector, so the stores pages show a failed sync;
- a note as evidence on a refund with a parcel, for the evidence summary.

Run as ``python -m tests.e2e.seed OUT.json`` with the desk's environment; the
ids it made are written to OUT.json.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path

from aftersales import demo
from aftersales.cli import DEMO_PASSWORD, DEMO_USER
from aftersales.core import db, outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, Store, User
from aftersales.core.modules import OutboxContext, Registry
from aftersales.orders.models import Order
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, sync_stream
from aftersales.refunds import evidence
from aftersales.refunds import service as refunds
from aftersales.refunds.models import EvidenceKind, Refund, RefundKind, RefundStatus
from connectors.base import ConnectorError, RefundWrite, RefundWriteResult, Stream, WriteRefused
from connectors.demo import DemoConnector


async def refusing(
    self: DemoConnector, write: RefundWrite, *, idempotency_key: str
) -> RefundWriteResult:
    raise WriteRefused("refund amount is over what is refundable", code="amount_over")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def seed(settings: Settings) -> dict[str, int]:
    await demo.load(DEMO_USER, DEMO_PASSWORD, settings)
    owner = await User.get(username=DEMO_USER)
    registry = Registry.build(settings)

    refund = await Refund.filter(
        status=RefundStatus.REQUESTED, kind=RefundKind.REFUND_ONLY, order_id__not_isnull=True
    ).first()
    assert refund is not None, "the demo has refund-only requests"
    await refunds.approve(refund.id, actor=owner)
    decided = await Refund.get(id=refund.id)
    original = DemoConnector.decide_refund
    DemoConnector.decide_refund = refusing  # type: ignore[method-assign]
    try:
        context = OutboxContext(settings=settings)
        assert decided.writeback_id is not None
        await outbox.deliver(decided.writeback_id, registry.outbox_handlers(), context=context)
    finally:
        DemoConnector.decide_refund = original  # type: ignore[method-assign]
    row = await OutboxMessage.get(id=decided.writeback_id)
    assert row.status is outbox.OutboxStatus.FAILED, row.last_error

    store = await create_store(
        name="淘宝旗舰店",
        platform="taobao",
        base_url=f"http://127.0.0.1:{closed_port()}",
        credentials={"app_key": "12345678", "app_secret": "s" * 32, "session": "6100e"},
        secret_key=settings.secret_key,
    )
    await Store.filter(id=store.id).update(enabled=False)  # the desk's cron leaves it failed
    connector = connector_for(store, settings.secret_key, max_attempts=1)
    try:
        await sync_stream(store, Stream.ORDERS, connector)
    except ConnectorError:
        pass
    finally:
        await connector.aclose()

    shipped = await Order.filter(shipments__id__not_isnull=True).values_list("id", flat=True)
    with_parcel = await Refund.filter(
        order_id__in=list(shipped), status=RefundStatus.REQUESTED
    ).first()
    assert with_parcel is not None, "the demo has a request on a shipped order"
    await evidence.add_evidence(
        with_parcel.id,
        actor=owner,
        kind=EvidenceKind.NOTE,
        data_dir=settings.data_dir,
        text="已联系快递拦截包裹",
    )
    return {
        "failed_refund": refund.id,
        "failing_store": store.id,
        "evidence_refund": with_parcel.id,
    }


async def main() -> dict[str, int]:
    settings = Settings.from_env()
    await db.migrate(settings)
    await db.close_db()
    await db.init_db(settings)
    try:
        return await seed(settings)
    finally:
        await db.close_db()


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(asyncio.run(main())))
