"""Plugins used by tests, installed by putting ``SITE`` on the import path."""

from pathlib import Path

SITE = Path(__file__).parent / "site"

# The complaints case module (``tests/plugins/complaints``), installed on its own.
COMPLAINTS_SITE = Path(__file__).parent / "complaints_site"
