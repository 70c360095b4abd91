"""The refund queue resolves the cases its rows are worked in with one query a page.

A row linked to a return case shows "worked in" with that case's title and
link; asking the returns module once per row made a 50-row page 50 queries.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tortoise import connections

from aftersales.core import modules
from aftersales.core.cases import CaseRef
from aftersales.core.models import Role, Store
from aftersales.refunds.models import Refund, RefundKind, RefundStatus
from aftersales.returns.models import ReturnCase, ReturnStatus
from aftersales.returns.policy import ReturnKind
from tests.conftest import sign_in
from tests.factories import create_store, create_user

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def linked_refunds(store: Store, count: int) -> list[tuple[Refund, ReturnCase]]:
    """``count`` refund requests, each worked in its own return case."""
    made = []
    for n in range(count):
        number = f"Q{len(made)}-{n}-{await Refund.all().count()}"
        refund = await Refund.create(
            store=store,
            platform_order_id=number,
            platform_refund_id=f"R{number}",
            platform_status="WAIT_SELLER_AGREE",
            kind=RefundKind.RETURN_AND_REFUND,
            status=RefundStatus.REQUESTED,
            requested_amount=Decimal("20.00"),
            requested_at=NOW,
            updated_at=NOW,
        )
        case = await ReturnCase.create(
            store=store,
            platform_order_id=number,
            kind=ReturnKind.RETURN,
            status=ReturnStatus.REQUESTED,
            refund_id=refund.id,
            requested_at=NOW,
            updated_at=NOW,
        )
        await Refund.filter(id=refund.id).update(worked_in=f"returns:return:{case.id}")
        made.append((refund, case))
    return made


@contextmanager
def counting_queries(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The SELECTs the database client runs inside the block (the ORM's, not ours, wrapped)."""
    seen: list[str] = []
    client = type(connections.get("default"))
    for name in ("execute_query", "execute_query_dict"):
        original = getattr(client, name)

        def counted(self: Any, query: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            seen.append(query)
            return _original(self, query, *args, **kw)

        monkeypatch.setattr(client, name, counted)
    yield seen
    monkeypatch.undo()


async def queue_queries(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    with counting_queries(monkeypatch) as seen:
        page = await client.get("/refunds/?linked=only")
    assert page.status_code == 200
    return len(seen), page.text


async def test_a_queue_page_of_linked_rows_costs_the_same_queries_for_2_or_8_rows(
    client: httpx.AsyncClient, app, clean_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await create_store()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    few = await linked_refunds(store, 2)
    await queue_queries(client, monkeypatch)  # warm: sessions, settings caches
    small, page = await queue_queries(client, monkeypatch)
    assert all(f'href="/returns/{case.id}"' in page for _, case in few)
    more = await linked_refunds(store, 6)
    large, page = await queue_queries(client, monkeypatch)
    assert all(f'href="/returns/{case.id}"' in page for _, case in few + more)
    assert large == small, f"{small} queries for 2 linked rows, {large} for 8"


async def test_the_registry_resolves_a_list_of_refs_by_module(clean_db) -> None:
    store = await create_store()
    ((refund, case),) = await linked_refunds(store, 1)
    return_ref = CaseRef("returns", "return", case.id)
    refund_ref = CaseRef("refunds", "refund", refund.id)
    gone = CaseRef("returns", "return", case.id + 1000)
    unknown = CaseRef("nosuchmodule", "thing", 1)
    resolved = await modules.current().resolve_cases([return_ref, refund_ref, gone, unknown])
    assert set(resolved) == {return_ref, refund_ref}
    assert resolved[return_ref].href == f"/returns/{case.id}"
    assert resolved[refund_ref] == await modules.current().resolve_case(refund_ref)
    assert resolved[return_ref] == await modules.current().resolve_case(return_ref)
