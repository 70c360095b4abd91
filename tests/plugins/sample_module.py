"""A third-party module as a plugin author would write it, installed by entry point.

Tests put ``tests/plugins/site`` on the path, whose dist-info registers it in
the ``aftersales.modules`` group, exactly as ``pip install`` would.
"""

from __future__ import annotations

from typing import Any

import httpx
from arq import cron
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from aftersales.core.auth import MANAGERS, requires
from aftersales.core.modules import Module, NavEntry, OutboxContext
from aftersales.core.outbox import PermanentFailure

CRON_KEY = "sample:cron-ran"


@requires(*MANAGERS)
async def secret_page(request: Request) -> Response:
    return PlainTextResponse("sample secrets for managers")


async def boom(request: Request) -> Response:
    raise RuntimeError("a bug in a plugin page")


async def mark_cron(ctx: dict[str, Any]) -> None:
    await ctx["redis"].set(CRON_KEY, "yes")


async def post_echo(
    payload: dict[str, Any], idempotency_key: str, context: OutboxContext
) -> dict[str, Any]:
    """Deliver to a fake platform that honours Idempotency-Key, like real refund APIs."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            payload["url"], json=payload, headers={"Idempotency-Key": idempotency_key}
        )
    if response.status_code == 422:
        raise PermanentFailure(response.text)
    response.raise_for_status()
    return response.json()


module = Module(
    name="sample",
    label="Sample",
    routes=[Route("/", secret_page), Route("/boom", boom)],
    nav=[NavEntry("Sample", "/sample/", MANAGERS)],
    cron_jobs=[cron(mark_cron, second=set(range(0, 60, 2)), run_at_startup=True)],
    outbox_handlers={"sample.echo": post_echo},
)
