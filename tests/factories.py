"""Plain async factories: ``create_<thing>(*, ...)`` with sensible defaults."""

from __future__ import annotations

import itertools

from aftersales.core import service
from aftersales.core.config import Settings
from aftersales.core.models import Role, Store, User

_serial = itertools.count(1)
PASSWORD = "correct horse battery"


async def create_user(
    *, username: str | None = None, role: Role = Role.AGENT, password: str = PASSWORD, **kw: str
) -> User:
    return await service.create_user(username or f"user{next(_serial)}", password, role=role, **kw)


async def create_store(*, name: str = "测试店铺", platform: str = "demo") -> Store:
    return await Store.create(name=name, platform=platform)


async def create_demo_desk(settings: Settings) -> tuple[User, str]:
    """The demo shop's orders, refunds and return cases, and an owner's bearer token.

    For tests that roam the whole API (schemathesis, the malformed-request walk)
    and need real rows behind the ids they try.
    """
    from aftersales import demo

    await demo.load("owner", PASSWORD, settings)
    owner = await User.get(username="owner")
    return owner, await service.create_token(owner, "tests")
