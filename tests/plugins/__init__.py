"""Plugins used by tests, installed by putting a site folder on the import path.

``SITE`` holds ``sample`` (a page, nav, a cron job, an outbox handler);
``HOOKS_SITE`` holds ``hooked``, which uses every registry hook;
``COMPLAINTS_SITE`` holds ``complaints``, a case module on the case kernel.
"""

from pathlib import Path

SITE = Path(__file__).parent / "site"
HOOKS_SITE = Path(__file__).parent / "hooks_site"
COMPLAINTS_SITE = Path(__file__).parent / "complaints_site"
