"""One error base class for the whole desk.

Exception tree::

    AfterSalesError            expected business error, 4xx, shown to the user
    ├── ConfigError            a bad setting at start; the CLI prints one line
    ├── NotFound               404
    ├── PermissionDenied       403
    └── InvalidInput           400 (a bad form or payload)

Programmer errors stay ``assert``/``TypeError``; they become a 500 page.
"""

from __future__ import annotations


class AfterSalesError(Exception):
    """An expected error with a stable machine code and a message for people."""

    status: int = 400
    code: str = "error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code


class ConfigError(AfterSalesError):
    code = "config_error"


class NotFound(AfterSalesError):
    status = 404
    code = "not_found"


class PermissionDenied(AfterSalesError):
    status = 403
    code = "forbidden"


class InvalidInput(AfterSalesError):
    status = 400
    code = "invalid_input"
