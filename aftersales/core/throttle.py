"""Login throttling in Redis, so every web node counts the same failures."""

from __future__ import annotations

from arq.connections import ArqRedis

WINDOW_SECONDS = 15 * 60
MAX_FAILURES = 5


def _keys(username: str, ip: str) -> list[str]:
    return [
        f"aftersales:login-fail:user:{username.strip().lower()}",
        f"aftersales:login-fail:ip:{ip}",
    ]


async def locked_for(redis: ArqRedis, username: str, ip: str) -> int:
    """Seconds until this user or address may try again; 0 when free."""
    wait = 0
    for key in _keys(username, ip):
        count = int(await redis.get(key) or 0)
        # An address gets more tries than a name: one office shares one IP.
        limit = MAX_FAILURES if ":user:" in key else MAX_FAILURES * 4
        if count >= limit:
            wait = max(wait, int(await redis.ttl(key)))
    return max(wait, 0)


async def record_failure(redis: ArqRedis, username: str, ip: str) -> None:
    for key in _keys(username, ip):
        count = await redis.incr(key)
        if count == 1:
            await redis.expire(key, WINDOW_SECONDS)


async def clear(redis: ArqRedis, username: str, ip: str) -> None:
    await redis.delete(_keys(username, ip)[0])
