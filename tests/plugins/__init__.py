"""Plugins used by tests, installed by putting ``SITE`` on the import path."""

from pathlib import Path

SITE = Path(__file__).parent / "site"
