"""What the intake, assignment and list tests share: stores on the fake platforms, a rota."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from aftersales.core import modules
from aftersales.core.config import Settings
from aftersales.core.models import Store
from aftersales.core.modules import Module, Registry
from aftersales.core.shifts import ShiftSlot
from aftersales.orders.service import create_store
from aftersales.orders.sync import connector_for, record_handlers, sync_stream
from aftersales.reviews import intake
from connectors.base import ReviewRecord, ReviewResult, Stream
from tests.fakes.serve import serve
from tests.fakes.taobao import FakeTaobaoShop
from tests.fakes.woocommerce import FakeWooShop

_serial = itertools.count(1)


def handlers() -> dict[str, list[modules.RecordHandler]]:
    """The record handlers of every installed module, as a real sync gets them."""
    return record_handlers(modules.current())


@contextmanager
def top_gateway(shop: FakeTaobaoShop) -> Iterator[str]:
    async def router(request: Request) -> Response:
        params = dict(request.query_params)
        form = await request.form()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        body, _ = await asyncio.to_thread(shop.answer, params)
        return JSONResponse(body)

    with serve(Starlette(routes=[Route("/router/rest", router, methods=["GET", "POST"])])) as url:
        yield url


async def taobao_store(shop: FakeTaobaoShop, url: str, settings: Settings) -> Store:
    return await create_store(
        name="淘宝店",
        platform="taobao",
        base_url=url,
        credentials={"app_key": shop.app_key, "app_secret": shop.app_secret,
                     "session": shop.session},
        settings={"history_days": 10},
        secret_key=settings.secret_key,
    )  # fmt: skip


async def woo_store(url: str, shop: FakeWooShop, settings: Settings) -> Store:
    return await create_store(
        name="Woo",
        platform="woocommerce",
        base_url=url,
        credentials={"key": shop.key, "secret": shop.secret},
        settings={"history_days": 30},
        secret_key=settings.secret_key,
    )


async def sync(store: Store, settings: Settings, *streams: Stream) -> None:
    """Sync the streams named (each through every module's handlers), as the worker does."""
    connector = connector_for(store, settings.secret_key)
    try:
        for stream in streams:
            await sync_stream(store, stream, connector, handlers=handlers())
    finally:
        await connector.aclose()


def record(
    *,
    rid: str | None = None,
    created_at: datetime,
    rating: int | None = None,
    result: ReviewResult | None = None,
    text: str = "",
    append_text: str | None = None,
    appended_at: datetime | None = None,
    order: str | None = None,
    nick: str = "买家甲",
) -> ReviewRecord:
    return ReviewRecord(
        platform_review_id=rid or f"R{next(_serial)}",
        platform_order_id=order,
        reviewer_nick=nick,
        rating=rating,
        result=result,
        text=text,
        append_text=append_text,
        appended_at=appended_at,
        created_at=created_at,
    )


async def take(store: Store, records: Sequence[ReviewRecord]) -> None:
    """Hand records to intake in one page transaction, as ``commit_page`` does."""
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await intake.intake(store, list(records), conn)


def with_rota(user_ids: Sequence[int]) -> Registry:
    """Every installed module plus a rota that has ``user_ids`` on shift at any time."""

    async def shifts_at(at: datetime) -> list[ShiftSlot]:
        return [ShiftSlot("早班", at, at, key="test", user_ids=tuple(user_ids))] if user_ids else []

    rota = Module(name="test_rota", label="rota", shifts_at=shifts_at)
    return Registry([*modules.all_modules(), rota])
