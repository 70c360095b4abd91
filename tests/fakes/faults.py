"""Fault mode for fake platforms: a share of requests fail the way real ones do.

Kinds: ``500`` (server error), ``429`` (rate limited, with Retry-After),
``timeout`` (the answer comes too late), ``truncated`` (the body is cut
short). Seeded, so a failing run can be replayed.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class FaultInjector:
    def __init__(
        self,
        app: ASGIApp,
        *,
        rate: float = 0.0,
        kinds: tuple[str, ...] = ("500", "429", "timeout", "truncated"),
        seed: int = 7,
        timeout_seconds: float = 3.0,
    ) -> None:
        self.app = app
        self.rate = rate
        self.kinds = kinds
        self.rng = random.Random(seed)
        self.timeout_seconds = timeout_seconds
        self.injected: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rng.random() >= self.rate:
            await self.app(scope, receive, send)
            return
        kind = self.rng.choice(self.kinds)
        self.injected[kind] += 1
        if kind == "500":
            await _plain(send, 500, b'{"code":"internal_server_error","message":"oops"}')
        elif kind == "429":
            await _plain(send, 429, b"Too Many Requests", [(b"retry-after", b"0.05")])
        elif kind == "timeout":
            await asyncio.sleep(self.timeout_seconds)
            await _plain(send, 504, b"late")
        else:
            await self._truncated(scope, receive, send)

    async def _truncated(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the real handler but cut its body in half."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body[: len(body) // 2]})


async def _plain(
    send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send(
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])}
    )
    await send({"type": "http.response.body", "body": body})
