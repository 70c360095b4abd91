"""Returns hears about refunds through the registry: ``refund_settled`` and its own settings."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from aftersales.core import modules
from aftersales.core.models import AuditEvent, Role, Store
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from aftersales.returns import service
from aftersales.returns.models import ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.factories import create_store, create_user

pytestmark = pytest.mark.usefixtures("clean_db")
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def waiting_case(store: Store) -> tuple[Refund, ReturnCase]:
    """A return inspected and waiting for its refund's money."""
    refund = await Refund.create(
        store=store,
        platform_order_id="A1001",
        platform_status="SUCCESS",
        kind=RefundKind.RETURN_AND_REFUND,
        status=RefundStatus.REFUNDED,
        requested_amount=Decimal("88.00"),
        requested_at=NOW,
        updated_at=NOW,
    )
    case = await ReturnCase.create(
        store=store,
        platform_order_id="A1001",
        kind=ReturnKind.RETURN,
        status=ReturnStatus.REFUND_TRIGGERED,
        refund_id=refund.id,
        requested_at=NOW,
        updated_at=NOW,
    )
    return refund, case


def test_returns_subscribes_instead_of_polling() -> None:
    from aftersales.returns import module, settlement

    assert module.subscribers == {"refund_settled": settlement.on_refund_settled}
    assert "refund_settled" in modules.current().module("refunds").emits


async def test_our_write_back_settling_the_refund_closes_the_case() -> None:
    refund, case = await waiting_case(await create_store())
    await modules.emit("refund_settled", refund_id=refund.id, source="desk")
    closed = await ReturnCase.get(id=case.id)
    assert (closed.status, closed.close_reason) == (ReturnStatus.CLOSED, "refunded")


async def test_the_platform_settling_it_closes_the_case_in_the_platforms_words() -> None:
    refund, case = await waiting_case(await create_store())
    await modules.emit("refund_settled", refund_id=refund.id, source="platform")
    closed = await ReturnCase.get(id=case.id)
    assert (closed.status, closed.close_reason) == (ReturnStatus.CLOSED, "refunded_on_platform")
    event = await AuditEvent.get(action="return.platform_changed", subject_id=str(case.id))
    assert event.data["platform_status"] == "SUCCESS"


async def test_a_case_not_waiting_for_money_is_left_alone() -> None:
    refund, case = await waiting_case(await create_store())
    await ReturnCase.filter(id=case.id).update(status=ReturnStatus.RECEIVED)
    await modules.emit("refund_settled", refund_id=refund.id, source="desk")
    assert (await ReturnCase.get(id=case.id)).status is ReturnStatus.RECEIVED


async def test_saving_the_policy_keeps_the_stores_other_settings() -> None:
    owner = await create_user(role=Role.OWNER)
    store = await create_store()
    stale = await Store.get(id=store.id)
    # Meanwhile someone saved the store's sync interval on the store page.
    await Store.filter(id=store.id).update(settings={"sync_interval_minutes": 30})
    await service.save_policy(stale, {"no_reason_days": 10}, return_address=" 仓库 ", actor=owner)
    settings = (await Store.get(id=store.id)).settings
    assert settings == {
        "sync_interval_minutes": 30,
        "returns_policy": {"no_reason_days": 10},
        "return_address": "仓库",
    }
    assert service.policy_of(stale).no_reason_days == 10


async def test_unset_settings_read_as_the_manifests_defaults() -> None:
    store = await create_store()
    assert service.store_setting(store, "return_address") == ""
    assert service.policy_of(store).no_reason_days == 7  # the law
