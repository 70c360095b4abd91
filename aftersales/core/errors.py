"""One error base class for the whole desk, speaking the reader's language.

Exception tree::

    AfterSalesError            expected business error, 4xx, shown to the user
    ├── ConfigError            a bad setting at start; the CLI prints one line
    ├── NotFound               404
    ├── PermissionDenied       403 (refused by role or cap)
    ├── Conflict               409 (someone else changed it first, or it is in
    │                          a state that does not allow this)
    └── InvalidInput           400 (a bad form or payload)

An error carries a stable ``code`` (for scripts and the API), an English
msgid with ``%(name)s`` parameters (extracted into the catalog, so a zh-CN
agent reads it in Chinese), the parameters, and the object it is about. The
text is rendered when it is read (``message``), in the locale of the request
that reads it, not when it is raised: a service does not know who will read
its error. ``str(error)`` stays English, for logs.

Raise with a literal msgid marked ``N_`` so the extractor finds it::

    raise InvalidInput(N_("Approve at most %(limit)s."), limit=money(limit), obj=refund)

or declare a class with its own ``code`` and ``msgid`` and raise that.
Parameter values that are themselves msgids to translate (a status label)
are wrapped in ``Msgid``; a tuple or list of them (the labels of the missing
fields) is translated item by item and joined the reader's way ("、" in
Chinese, ", " in English).

Programmer errors stay ``assert``/``TypeError``; they become a 500 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar

from aftersales.core import i18n
from aftersales.core.i18n import N_


class Msgid(str):
    """A parameter value that is itself a msgid: translated with the message."""

    __slots__ = ()


def money(value: Decimal) -> str:
    """An amount as an error parameter: two decimals, no symbol (the message says whose)."""
    return f"{value:.2f}"


# How a list of words is joined in a sentence, per locale; others use English's.
LIST_SEPARATORS = {"zh_CN": "、"}


def _param(value: object, *, translate: bool) -> object:
    """A parameter as the message shows it: msgids translated, lists joined."""
    gettext = i18n.gettext if translate else str
    if isinstance(value, Msgid):
        return gettext(value)
    if isinstance(value, tuple | list):
        separator = LIST_SEPARATORS.get(i18n.get_locale(), ", ") if translate else ", "
        return separator.join(
            gettext(item) if isinstance(item, Msgid) else str(item) for item in value
        )
    return value


def render(msgid: str, params: Mapping[str, object], *, translate: bool = True) -> str:
    """``msgid`` in the current locale with ``params`` filled in.

    A msgid with no parameters is returned as it is (a literal ``%`` stays).
    A template that names a parameter the caller did not give keeps the
    untranslated English rather than failing while an error is reported.
    """
    gettext = i18n.gettext if translate else str
    text = gettext(msgid)
    if not params:
        return text
    values = {key: _param(value, translate=translate) for key, value in params.items()}
    try:
        return text % values
    except (KeyError, ValueError, TypeError):
        try:
            return msgid % values
        except (KeyError, ValueError, TypeError):
            return msgid


def _plain(value: object) -> object:
    """A JSON-safe form of a parameter for the API's ``details``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(item) for item in value]
    return str(value)


def describe(obj: object) -> dict[str, object] | None:
    """The offending object as the API shows it: its kind and id, never its fields."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    kind = (
        getattr(obj, "case_kind", None)  # a case (core.cases.Case) names its kind
        or getattr(getattr(obj, "Meta", None), "case_kind", None)
        or type(obj).__name__
    )
    ident = getattr(obj, "id", None)
    return {"type": str(kind), "id": _plain(ident)}


class AfterSalesError(Exception):
    """An expected error with a stable machine code and a message for people."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "error"
    msgid: ClassVar[str] = N_("Something went wrong; nothing was changed.")

    def __init__(
        self,
        message: str | None = None,
        /,
        *,
        obj: object | None = None,
        status: int | None = None,
        code: str | None = None,
        **params: object,
    ) -> None:
        self.template = message if message is not None else type(self).msgid
        self.params: dict[str, object] = params
        self.obj = obj
        # ``status`` and ``code`` are the error's own: a parameter by either name is a bug.
        assert status is None or isinstance(status, int), "name the parameter, not status="
        assert code is None or not isinstance(code, Msgid), "name the parameter, not code="
        if status is not None:
            self.status = status  # type: ignore[misc]
        if code is not None:
            self.code = code  # type: ignore[misc]
        super().__init__(render(self.template, params, translate=False))

    @property
    def message(self) -> str:
        """The message in the locale of whoever reads it now."""
        return render(self.template, self.params)

    @property
    def english(self) -> str:
        return render(self.template, self.params, translate=False)

    def details(self) -> dict[str, Any]:
        """What the API adds beside code and message: parameters and the object."""
        out: dict[str, Any] = {k: _plain(v) for k, v in self.params.items()}
        about = describe(self.obj)
        if about is not None:
            out["object"] = about
        return out

    def as_json(self) -> dict[str, Any]:
        """The API's error body: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details()}}


class ConfigError(AfterSalesError):
    code = "config_error"
    msgid = N_("The desk's settings are not valid.")


class NotFound(AfterSalesError):
    status = 404
    code = "not_found"
    msgid = N_("Not found.")


class PermissionDenied(AfterSalesError):
    status = 403
    code = "forbidden"
    msgid = N_("You may not do this.")


class Conflict(AfterSalesError):
    status = 409
    code = "conflict"
    msgid = N_("Someone changed this meanwhile; reload the page and try again.")


class InvalidInput(AfterSalesError):
    status = 400
    code = "invalid_input"
    msgid = N_("This input is not valid; nothing was changed.")


def all_error_classes() -> list[type[AfterSalesError]]:
    """Every error class loaded so far, for the test that translates them all."""
    seen: list[type[AfterSalesError]] = []
    stack: list[type[AfterSalesError]] = [AfterSalesError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    return seen
