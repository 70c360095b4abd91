"""What a return's goods are worth is one sum: the cap refusal and the quick reply agree.

The cap on approving, the approval amount and the reply's ``amount`` each
summed unit price times quantity on their own; now ``service.goods_value``
is the only place, so a change to how goods are valued changes all three.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from aftersales.core import modules
from aftersales.core.models import Role
from aftersales.core.reasons import ReasonCode
from aftersales.returns import service
from aftersales.returns.policy import ReturnKind
from tests.conftest import sign_in
from tests.factories import create_store, create_user
from tests.refunds.test_caps import an_order
from tests.returns.test_cap_bypass import _post
from tests.returns.test_cases import ADDRESS

RETURNS = Path(service.__file__).resolve().parent


async def test_the_cap_refusal_and_the_quick_reply_name_the_same_goods_value(
    client: httpx.AsyncClient, app
) -> None:
    store = await create_store()
    order, item = await an_order(store)  # 2 x 238.00 = 476.00
    agent = await create_user(username="agent", role=Role.AGENT)
    case = await service.open_case(
        order.id, kind=ReturnKind.RETURN, lines=[service.LineRequest(item.platform_item_id, 2)],
        reason=ReasonCode.QUALITY, actor=agent,
    )  # fmt: skip
    await sign_in(client, "agent")
    page = await _post(
        client, f"/returns/{case.id}/approve",
        {"version": str(case.version), "return_address": ADDRESS},
    )  # fmt: skip
    assert "this one is 476.00" in page
    assert await service.approval_amount(case) == 476
    context = await modules.current().phrase_context(case.ref)
    assert context is not None and "476.00" in context.values["amount"]


def test_goods_are_valued_in_one_function() -> None:
    sums = [
        f"{path.name}:{n}"
        for path in RETURNS.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"unit_price\s*\*\s*\w*\.?quantity", line)
    ]
    assert len(sums) == 1, sums
