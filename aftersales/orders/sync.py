"""The sync engine: drive a connector's stream page by page, committing each.

Only the demo connector exists yet; platform connectors arrive with the
connectors issue and plug in through the ``aftersales.connectors`` entry points.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from aftersales.core.errors import InvalidInput
from aftersales.core.models import Store
from aftersales.orders import service
from aftersales.orders.models import SyncState

CONNECTOR_GROUP = "aftersales.connectors"


def connector_class(platform: str) -> Any:
    for ep in entry_points(group=CONNECTOR_GROUP):
        if ep.name == platform:
            return ep.load()
    raise InvalidInput(f"No connector is installed for platform {platform!r}.")


async def sync_orders(store: Store, connector: Any) -> int:
    """Pull every page after the saved cursor; returns how many records landed."""
    state = await SyncState.get_or_none(store=store, stream="orders")
    landed = 0
    async for page in connector.orders(state.cursor if state else None):
        landed += await service.commit_page(store, "orders", page)
    return landed
