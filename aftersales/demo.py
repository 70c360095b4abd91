"""Demo data: a simulated shop and a demo login, loaded once and idempotently."""

from __future__ import annotations

from aftersales.core import clock, phrases, service
from aftersales.core.config import Settings
from aftersales.core.models import Role, Store, User
from aftersales.core.modules import Registry, install
from aftersales.orders import service as orders_service
from aftersales.orders.models import Customer
from aftersales.orders.sync import record_handlers, sync_orders, sync_stream
from connectors.base import Stream
from connectors.demo import DemoConnector

DEMO_STORE = "演示小店 Demo Shop"
# Buyers the demo's agents already know, so the queues show tags and notes from the start.
DEMO_BUYERS = {
    "demo-buyer-001": (["vip"], "老客户，退款一般当天处理。"),
    "demo-buyer-018": (["angry", "催发货"], "已经打过两次电话，请先道歉再说明。"),
    "demo-buyer-036": (["difficult"], "只接受顺丰寄回。"),
}


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
    await _known_buyers(store, owner)
    cases = ""
    if "returns" in registry:
        from aftersales.returns import demo as returns_demo

        cases = f", {await returns_demo.seed(store, owner)} return cases"
    if "reviews" in registry:
        from aftersales.reviews import demo as reviews_demo

        cases += f", {await reviews_demo.seed(store, registry, connector)}"
    if "handover" in registry:
        from aftersales.handover import demo as handover_demo

        cases += f", {await handover_demo.seed(registry, owner)} handovers"
    return (
        f"Demo shop ready: {landed} orders and {requests.records} after-sale requests"
        f"{cases} loaded into store {store.id}"
    )


async def _known_buyers(store: Store, owner: User) -> None:
    """Tag a few demo buyers once, through the orders service (audited), never over an edit."""
    for buyer_id, (tags, notes) in DEMO_BUYERS.items():
        customer = await Customer.get_or_none(store_id=store.id, platform_buyer_id=buyer_id)
        if customer is not None and not customer.tags and not customer.notes:
            await orders_service.update_customer(customer, tags=tags, notes=notes, actor=owner)
