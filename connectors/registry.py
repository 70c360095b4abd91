"""The installed connectors, by platform name, read from their manifests.

Built-in connectors and any installed package register in the
``aftersales.connectors`` entry-point group, each naming its module's
``manifest``. The built-in modules are also listed here, so a checkout whose
installed metadata predates a connector still knows it. An entry point that
names a bare factory (the older contract) is wrapped in a minimal manifest.

The scan is kept per ``sys.path``: an install made while the desk runs (a
test's dist-info on a new path entry) is found, and a steady desk does not
re-read every distribution on each page.
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import EntryPoint, entry_points

from connectors.base import ConnectorError, ConnectorManifest
from connectors.pump import GROUP

BUILTIN = (
    "connectors.demo",
    "connectors.csvfile",
    "connectors.woocommerce",
    "connectors.shopify",
    "connectors.taobao",
    "connectors.jd",
    "connectors.pinduoduo",
    "connectors.douyin",
)

log = logging.getLogger("aftersales.connectors")
_cache: tuple[tuple[str, ...], dict[str, ConnectorManifest]] | None = None


class UnknownPlatform(ConnectorError):
    def __init__(self, platform: str) -> None:
        super().__init__(f"No connector is installed for platform {platform!r}.")
        self.platform = platform


def _from_entry_point(ep: EntryPoint) -> ConnectorManifest | None:
    try:
        loaded = ep.load()
    except Exception:  # a broken plugin must not take the built-in platforms down
        log.exception("connectors.load_failed entry_point=%s", ep.value)
        return None
    if isinstance(loaded, ConnectorManifest):
        return loaded
    found = getattr(sys.modules.get(ep.module), "manifest", None)
    if isinstance(found, ConnectorManifest):
        return found
    if callable(loaded):
        return ConnectorManifest(platform=ep.name, label=ep.name, factory=loaded)
    log.warning("connectors.not_a_manifest entry_point=%s", ep.value)
    return None


def _scan() -> dict[str, ConnectorManifest]:
    found: dict[str, ConnectorManifest] = {}
    for name in BUILTIN:
        manifest = importlib.import_module(name).manifest
        found[manifest.platform] = manifest
    for ep in entry_points(group=GROUP):
        manifest = _from_entry_point(ep)
        if manifest is not None:
            found[manifest.platform] = manifest
    return found


def installed() -> dict[str, ConnectorManifest]:
    """Every platform the desk can connect, in a stable order (built-ins first)."""
    global _cache
    key = tuple(sys.path)
    if _cache is None or _cache[0] != key:
        _cache = (key, _scan())
    return dict(_cache[1])


def find(platform: str) -> ConnectorManifest | None:
    return installed().get(platform)


def manifest_for(platform: str) -> ConnectorManifest:
    manifest = find(platform)
    if manifest is None:
        raise UnknownPlatform(platform)
    return manifest


def forget() -> None:
    """Scan again on the next call (after installing or removing a connector in-process)."""
    global _cache
    _cache = None
