"""Demo data: a simulated shop and a demo login, loaded once and idempotently."""

from __future__ import annotations

from aftersales.core import service
from aftersales.core.models import Role, Store, User
from aftersales.orders.sync import sync_orders
from connectors.demo import DemoConnector

DEMO_STORE = "演示小店 Demo Shop"


async def load(username: str, password: str) -> str:
    """Create the demo user and store if missing, then sync the demo orders."""
    if not await User.exists(username=username):
        await service.create_user(username, password, role=Role.OWNER, display_name="演示店主")
    store = await Store.get_or_none(name=DEMO_STORE, platform="demo")
    if store is None:
        store = await Store.create(name=DEMO_STORE, platform="demo")
    landed = await sync_orders(store, DemoConnector())
    return f"Demo shop ready: {landed} orders loaded into store {store.id}"
