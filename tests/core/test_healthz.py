"""/healthz reports database, Redis and worker without a login."""

from __future__ import annotations

import httpx
from arq.connections import ArqRedis

from aftersales.core.jobs import HEALTH_KEY


async def test_healthz_without_a_worker_is_degraded(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["redis"] == "ok"
    assert body["worker"]["status"] == "missing"


async def test_healthz_with_a_worker_heartbeat_is_ok(
    client: httpx.AsyncClient, redis: ArqRedis
) -> None:
    await redis.set(HEALTH_KEY, b"Nov-23 12:00:00 j_complete=1 queued=0", ex=20)
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["worker"] == {
        "status": "ok",
        "heartbeat": "Nov-23 12:00:00 j_complete=1 queued=0",
    }
    assert response.json()["status"] == "ok"
