"""aftersales: a self-hosted after-sales desk for online shops."""

__version__ = "0.1.0"
