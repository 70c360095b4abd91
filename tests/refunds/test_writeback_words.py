"""The write-back box and the sync table say what happened in words; keys stay with supervisors.

The platform is the fake TOP gateway over loopback HTTP, or a port nobody
listens on; the desk runs on the real database. An agent reads "Taobao
refused this write" or "Failed, retrying at 14:05" and never the exception,
the idempotency key or the payload; a supervisor finds those folded in a
``<details>`` element.
"""

from __future__ import annotations

import re
from functools import partial

import httpx
import pytest

from aftersales.core import outbox
from aftersales.core.config import Settings
from aftersales.core.models import OutboxMessage, OutboxStatus, Role
from aftersales.core.modules import OutboxContext
from aftersales.orders.models import SyncState
from aftersales.orders.sync import connector_for, sync_stream
from aftersales.refunds import module as refunds_module
from aftersales.refunds import writeback
from aftersales.refunds.models import Refund
from connectors.base import PlatformError, Stream
from tests.conftest import csrf_from, sign_in
from tests.core.test_failures import closed_port, no_sleep
from tests.factories import create_user
from tests.fakes.taobao import FakeTaobaoShop
from tests.refunds.test_exactly_once import open_requests, taobao_store, top_gateway

ZH = {"Accept-Language": "zh-CN"}
DETAILS = re.compile(r'<details class="technical">.*?</details>', re.S)


def outside_details(html: str) -> str:
    return DETAILS.sub("", html)


async def approve_as_agent(client: httpx.AsyncClient, refund: Refund) -> OutboxMessage:
    await create_user(username="agent", role=Role.AGENT)
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "agent")
    token = await csrf_from(client, f"/refunds/{refund.id}")
    await client.post(
        f"/refunds/{refund.id}/approve", data={"csrf_token": token, "version": str(refund.version)}
    )
    return await OutboxMessage.get()


async def test_a_refused_write_back_reads_as_words_and_only_a_supervisor_sees_the_key(
    clean_db: Settings, client: httpx.AsyncClient
) -> None:
    shop = FakeTaobaoShop()
    with top_gateway(shop) as url:
        await taobao_store(shop, url, clean_db)
        refund = (await open_requests())[0]
        row = await approve_as_agent(client, refund)
        shop.refunds[int(refund.platform_refund_id)].status = "CLOSED"  # the buyer withdrew it
        handlers = dict(refunds_module.outbox_handlers)
        context = OutboxContext(settings=clean_db)
        assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.FAILED

    page = (await client.get(f"/refunds/{refund.id}", headers=ZH)).text
    assert "发送失败：淘宝尚未收到" in page and "淘宝拒绝了这次操作" in page
    assert row.idempotency_key not in page and '<details class="technical"' not in page
    assert "WriteRefused" not in page and "PermanentFailure" not in page

    await sign_in(client, "boss")
    page = (await client.get(f"/refunds/{refund.id}", headers=ZH)).text
    folded = "".join(DETAILS.findall(page))
    assert row.idempotency_key in folded and "WriteRefused" in folded and "CLOSED" in folded
    assert row.idempotency_key not in outside_details(page)
    assert "淘宝拒绝了这次操作" in outside_details(page)


async def test_an_unreachable_platform_reads_failed_retrying_at_with_the_reason(
    clean_db: Settings, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write-back tries the dead address its full number of times, but its backoff
    # between them (0.25 s doubling to 16 s: about 25 s in all) is not waited out here.
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    monkeypatch.setattr(writeback, "connector_for", partial(connector_for, sleep=no_wait))
    shop = FakeTaobaoShop()
    with top_gateway(shop) as url:
        store = await taobao_store(shop, url, clean_db)
    # The gateway is gone: the store's address now answers nobody.
    store.base_url = f"http://127.0.0.1:{closed_port()}"
    await store.save()
    refund = (await open_requests())[0]
    row = await approve_as_agent(client, refund)
    connector = connector_for(store, clean_db.secret_key, max_attempts=1, sleep=no_sleep)
    try:
        await sync_stream(store, Stream.ORDERS, connector)
    except PlatformError:
        pass
    finally:
        await connector.aclose()

    context = OutboxContext(settings=clean_db)
    handlers = dict(refunds_module.outbox_handlers)
    assert await outbox.deliver(row.id, handlers, context=context) is OutboxStatus.PENDING
    assert len(waits) > 1  # it retried before giving up on this attempt
    retry = await OutboxMessage.get(id=row.id)
    assert retry.error_code == "unreachable"
    at = retry.next_attempt_at.astimezone(clean_db.zone).strftime("%H:%M")
    page = (await client.get(f"/refunds/{refund.id}")).text
    assert f"Failed, retrying at {at}" in page
    assert "Could not reach Taobao (connection refused)." in page
    assert "ConnectError" not in page and retry.idempotency_key not in page

    # The store's sync table says the same about its last sync, to the owner in Chinese.
    state = await SyncState.get(store_id=store.id, stream="orders")
    assert state.error_code == "unreachable" and "ConnectError" in (state.last_error or "")
    await create_user(username="owner", role=Role.OWNER)
    await sign_in(client, "owner")
    page = (await client.get(f"/orders/stores/{store.id}", headers=ZH)).text
    assert "无法连接淘宝（连接被拒绝）。" in page and "下次同步时会自动重试。" in page
    assert "ConnectError" not in outside_details(page) and "ConnectError" in page
