"""Every public ``Registry`` method (one per hook) is called by some test.

As pluggy and datasette do: a hook nobody tests is a hook nobody knows
works. Adding a method to ``Registry`` without a test that calls it by name
fails here.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from aftersales.core.modules import Registry

TESTS = Path(__file__).resolve().parent.parent


def public_methods() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(Registry)
        if not name.startswith("_") and callable(member)
    )


def test_the_registry_has_its_documented_hooks() -> None:
    hooks = {"nav", "routes", "api_routes", "webhooks", "jobs", "cron", "record_handlers"}
    hooks |= {"dashboard_tiles", "handover_items", "resolve_case", "resolve_cases", "order_events"}
    hooks |= {"order_links", "outbox_handlers", "on_startup", "emit", "store_setting", "reports"}
    hooks |= {"order_badges", "store_links", "buyer_flags", "store_setting_fields"}
    assert hooks <= set(public_methods())
    for name in public_methods():
        assert inspect.getdoc(getattr(Registry, name)), f"Registry.{name} has no docstring"


def test_every_registry_method_is_called_by_a_test() -> None:
    me = Path(__file__).resolve()
    sources = "\n".join(
        path.read_text(encoding="utf-8") for path in TESTS.rglob("test_*.py") if path != me
    )
    untested = [
        name for name in public_methods() if not re.search(rf"\.{re.escape(name)}\(", sources)
    ]
    assert untested == [], f"no test calls Registry.{', Registry.'.join(untested)}"
