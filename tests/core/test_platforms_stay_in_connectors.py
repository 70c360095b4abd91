"""No file of the desk names a platform: a new connector needs no edit outside connectors/.

The platforms are the installed connectors' manifests, so a platform added
there is covered by this test without a list to keep in step. The
demo seeds a shop of each kind on purpose, and migrations are history.
"""

from __future__ import annotations

import re
from pathlib import Path

from connectors import registry

ROOT = Path(__file__).resolve().parents[2]
# Connectors whose names are ordinary words the desk uses for itself.
GENERIC = {"demo", "csv"}
ALLOWED = {Path("aftersales/demo.py"), Path("aftersales/returns/demo.py")}


def _platform_names() -> set[str]:
    names = set(registry.installed()) - GENERIC
    assert {"taobao", "shopify", "woocommerce"} <= names  # the scan reads what it should
    return names


def test_no_file_outside_connectors_names_a_platform() -> None:
    pattern = re.compile("|".join(sorted(_platform_names())), re.IGNORECASE)
    found = []
    for folder in ("aftersales", "templates"):
        for path in sorted((ROOT / folder).rglob("*")):
            relative = path.relative_to(ROOT)
            if not path.is_file() or path.suffix not in {".py", ".html", ".js", ".css"}:
                continue
            if "migrations" in relative.parts or relative in ALLOWED:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert found == []
