"""Platform connectors: pure platform I/O and mapping, importing nothing from ``aftersales``.

Each platform lives in its own file and turns the platform's payloads into the
normalized records of ``connectors.base``.
"""
