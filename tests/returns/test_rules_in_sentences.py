"""The refund rules and the return policy read as sentences, in Chinese and English."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx

from aftersales.core.models import Role
from aftersales.core.reasons import ReasonCode
from aftersales.refunds.models import RefundRules
from aftersales.returns import service
from tests.conftest import sign_in
from tests.factories import create_store, create_user

ZH = {"Accept-Language": "zh-CN"}


def in_force(page: str) -> list[str]:
    block = page.split('id="rules-in-force"', 1)[1].split("</section>", 1)[0]
    return [re.sub(r"<[^>]+>", "", li) for li in re.findall(r"<li>(.*?)</li>", block)]


async def test_the_rules_page_says_the_rules_in_force_as_sentences(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    await RefundRules.create(
        store=store, supervisor_above=Decimal("500.00"), night_agent_up_to=Decimal("80.00"),
        auto_approve_unshipped_up_to=Decimal("30.00"),
        human_reasons=[ReasonCode.QUALITY.value, ReasonCode.WRONG_OR_MISSING.value],
    )  # fmt: skip
    await create_user(username="boss", role=Role.SUPERVISOR)
    await sign_in(client, "boss")
    english = in_force((await client.get(f"/refunds/rules/{store.id}")).text)
    assert "Refunds above 500.00 need a supervisor; agents decide up to it." in english
    assert "Night-shift agents decide refunds up to 80.00." in english
    assert any("up to 30.00, are approved by the desk by itself" in s for s in english)
    chinese = in_force((await client.get(f"/refunds/rules/{store.id}", headers=ZH)).text)
    assert "超过 500.00 的退款由主管决定；这个金额以内由客服决定。" in chinese
    assert "夜班客服可决定 80.00 以内的退款。" in chinese
    reasons = next(s for s in chinese if s.startswith("原因为"))
    assert "质量问题" in reasons and "quality" not in reasons and "、" in reasons
    assert not any(re.search(r"[A-Za-z_]{3,}", s) for s in chinese)


async def test_the_policy_page_says_the_policy_as_sentences(client: httpx.AsyncClient, app) -> None:
    store = await create_store()
    boss = await create_user(username="boss", role=Role.SUPERVISOR)
    await service.save_policy(store, {"no_reason_days": 10}, return_address="", actor=boss)
    await sign_in(client, "boss")
    chinese = in_force((await client.get(f"/returns/policy/{store.id}", headers=ZH)).text)
    assert chinese[0] == "买家在签收后 10 天内可以无理由退货。"
    excluded = next(s for s in chinese if s.startswith("以下类目"))
    assert "定制" in excluded and "custom" not in excluded
    assert not any(re.search(r"[A-Za-z_]{3,}", s) for s in chinese)
    english = in_force((await client.get(f"/returns/policy/{store.id}")).text)
    assert (
        english[0] == "Buyers may return goods without giving a reason within 10 days of delivery."
    )
