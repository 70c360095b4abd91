"""Refund tests start with a demo platform that has heard no decision yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors import demo


@pytest.fixture(autouse=True)
def fresh_demo_platform() -> Iterator[None]:
    demo.DECISIONS.clear()
    demo.DECISIONS_BY_KEY.clear()
    yield
    demo.DECISIONS.clear()
    demo.DECISIONS_BY_KEY.clear()
