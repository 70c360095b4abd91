"""What the desk itself writes into notes and close reasons reads in the reader's language.

The desk stores a code (``refunded``) and pages label it; an agent who typed
no note leaves none; rows written before the codes hold English sentences,
which pages still show in Chinese.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from aftersales.core import modules
from aftersales.core.models import AuditEvent, Role
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import sign_in
from tests.factories import create_store, create_user
from tests.returns.test_cases import ADDRESS, synced_shop
from tests.returns.test_settlement import waiting_case

ZH = {"Accept-Language": "zh-CN"}


async def agreed_platform_return() -> ReturnCase:
    await synced_shop()
    agent = await create_user(username="agent", role=Role.AGENT)
    case = await ReturnCase.filter(
        kind=ReturnKind.RETURN, status=ReturnStatus.REQUESTED, refund_id__not_isnull=True
    ).first()
    assert case is not None
    return await service.approve(case.id, actor=agent, return_address=ADDRESS)


async def test_approving_without_a_note_leaves_the_refunds_note_empty(
    client: httpx.AsyncClient, app
) -> None:
    case = await agreed_platform_return()
    event = await AuditEvent.get(action="refund.approved", subject_id=str(case.refund_id))
    assert event.data["note"] == ""
    await sign_in(client, "agent")
    page = (await client.get(f"/refunds/{case.refund_id}", headers=ZH)).text
    assert "Return to" not in page


async def test_an_old_return_to_note_reads_in_chinese(client: httpx.AsyncClient, app) -> None:
    case = await agreed_platform_return()
    event = await AuditEvent.get(action="refund.approved", subject_id=str(case.refund_id))
    event.data = {**event.data, "note": f"Return to: {ADDRESS}"}  # as the desk wrote it before
    await event.save()
    await sign_in(client, "agent")
    page = (await client.get(f"/refunds/{case.refund_id}", headers=ZH)).text
    assert f"退货地址：{ADDRESS}" in page and "Return to" not in page


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("refunded", "已退款"),
        ("refunded_on_platform", "已在平台退款"),
        ("refunded on the platform", "已在平台退款"),  # an old row
        ("the buyer did not ship the return in time", "买家未按时寄回退货"),
        ("寄错商品，已与买家沟通", "寄错商品，已与买家沟通"),  # an agent's words, as typed
    ],
)
async def test_closed_because_shows_the_desks_reason_in_chinese(
    client: httpx.AsyncClient, app, stored: str, shown: str
) -> None:
    case = await agreed_platform_return()
    await ReturnCase.filter(id=case.id).update(status=ReturnStatus.CLOSED, close_reason=stored)
    await sign_in(client, "agent")
    page = (await client.get(f"/returns/{case.id}", headers=ZH)).text
    assert f"<dd>{shown}</dd>" in page


async def test_a_case_the_desk_closes_says_why_in_chinese_on_its_timeline(
    client: httpx.AsyncClient, app
) -> None:
    _refund, case = await waiting_case(await create_store())
    await modules.emit("refund_settled", refund_id=case.refund_id, source="desk")
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    page = (await client.get(f"/returns/{case.id}", headers=ZH)).text
    assert "<q>已退款</q>" in page and "<dd>已退款</dd>" in page


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("difference_buyer_pays", "买家通过补差价链接支付"),
        ("refund 10.00 to the buyer on the platform", "请在平台上退还给买家"),  # an old row
    ],
)
async def test_an_exchanges_price_difference_says_who_pays_in_chinese(
    client: httpx.AsyncClient, app, stored: str, shown: str
) -> None:
    case = await agreed_platform_return()
    await ReturnCase.filter(id=case.id).update(
        price_difference=Decimal("-10.00"), price_difference_note=stored
    )
    await sign_in(client, "agent")
    page = (await client.get(f"/returns/{case.id}", headers=ZH)).text
    assert shown in page and stored not in page
