"""Demo data: a simulated shop and a demo login, loaded once and idempotently."""

from __future__ import annotations

from aftersales.core import clock, phrases, service
from aftersales.core.config import Settings
from aftersales.core.models import Role, Store, User
from aftersales.core.modules import Registry, install
from aftersales.orders.sync import record_handlers, sync_orders, sync_stream
from connectors.base import Stream
from connectors.demo import DemoConnector

DEMO_STORE = "演示小店 Demo Shop"


async def load(username: str, password: str, settings: Settings) -> str:
    """Create the demo user and store if missing, then sync the demo orders and requests.

    Both are loaded before the desk opens, so the first page an owner sees
    has its orders and a refund queue, not an empty desk waiting for a cron.
    """
    owner = await User.get_or_none(username=username)
    if owner is None:
        owner = await service.create_user(
            username, password, role=Role.OWNER, display_name="演示店主"
        )
    store = await Store.get_or_none(name=DEMO_STORE, platform="demo")
    if store is None:
        store = await Store.create(name=DEMO_STORE, platform="demo")
    connector = DemoConnector(now=clock.now())  # the desk's clock, so tests can move it
    landed = await sync_orders(store, connector)
    registry = install(Registry.build(settings))
    await phrases.seed()  # the team's quick replies, refusals among them
    requests = await sync_stream(
        store, Stream.AFTER_SALES, connector, handlers=record_handlers(registry)
    )
    cases = ""
    if "returns" in registry:
        from aftersales.returns import demo as returns_demo

        cases = f", {await returns_demo.seed(store, owner)} return cases"
    return (
        f"Demo shop ready: {landed} orders and {requests.records} after-sale requests"
        f"{cases} loaded into store {store.id}"
    )
