"""``TORTOISE_ORM`` for Tortoise's own CLI (``tortoise makemigrations``).

Reads the same environment as the desk, so migrations are made against the
modules that are installed and enabled.
"""

from aftersales.core.config import Settings
from aftersales.core.db import tortoise_config

TORTOISE_ORM = tortoise_config(Settings.from_env())
