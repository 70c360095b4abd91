"""What went wrong outside the desk: a code and parameters when written, a sentence when read.

A sync that could not reach a platform, or a write-back the platform
refused, used to be kept as the exception's text ("PlatformError: GET ...
failed 6 times: ConnectError(...)"). To an agent on a Chinese page that reads
as a crash, and it names no next step. So the failure is classified once,
where it is caught (``of_exception``), into a small vocabulary of codes with
JSON-safe parameters, stored beside the technical text; a page turns the
code into a sentence in the reader's language (``sentence``), naming the
platform it knows the failure belongs to. The technical text stays for
managers (behind a "details" disclosure) and for logs.

A desk error (``AfterSalesError``) keeps its own msgid and parameters, so it
too is read in the reader's language, not in the worker's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aftersales.core import i18n
from aftersales.core.errors import AfterSalesError, Msgid, render
from aftersales.core.i18n import N_
from connectors import registry as connector_registry
from connectors.base import (
    AuthFailed,
    BadPayload,
    ConnectorError,
    PlatformError,
    RateLimited,
    Trouble,
    WriteRefused,
)

TECHNICAL_MAX = 2000

SENTENCES: Mapping[str, str] = {
    "unreachable": N_("Could not reach %(platform)s (%(detail)s)."),
    "timeout": N_("%(platform)s did not answer in time."),
    "answer_lost": N_(
        "The answer from %(platform)s was lost: the write may have been made, "
        "so the next try looks before it writes."
    ),
    "bad_answer": N_("%(platform)s sent an answer the desk could not read."),
    "server_error": N_("%(platform)s had a fault on its side."),
    "auth": N_(
        "%(platform)s refused the store's credentials: an owner must enter them again "
        "on the store page."
    ),
    "rate_limited": N_("%(platform)s asked the desk to slow down."),
    "write_refused": N_("%(platform)s refused this write: trying again as it is will not help."),
    "platform_error": N_("%(platform)s answered with an error."),
    "bad_record": N_("%(platform)s sent a record the desk could not read."),
    "no_connector": N_("No connector is installed for this store's platform."),
    "no_handler": N_("The module that sends this write is switched off or not installed."),
    "internal": N_("Something went wrong inside the desk; a manager can see the details."),
}
"""Every code but ``desk`` (which carries its own msgid) and its sentence."""

DETAILS: Mapping[str, str] = {
    Trouble.CONNECTION_REFUSED: N_("connection refused"),
    Trouble.ADDRESS_NOT_FOUND: N_("address not found"),
    Trouble.UNREACHABLE: N_("no connection"),
}
"""The words in brackets after "Could not reach ..."."""

REASONS: Mapping[str, str] = {
    "auth": N_("the store's credentials were refused"),
    "write_refused": N_("the platform refused it"),
    "platform_error": N_("the platform answered with an error"),
    "bad_record": N_("the platform sent something the desk could not read"),
    "no_connector": N_("no connector is installed for the store's platform"),
    "no_handler": N_("the module that sends it is switched off"),
}
"""The failure as a clause without the platform's name (a handover line names no store);
codes that pass by themselves (``RETRIED``) read as retries used up, others as internal."""

RETRIES_USED_UP = N_("the platform did not take it in any of the desk's tries")
SOMETHING_INSIDE = N_("something went wrong inside the desk")


def reason(code: str | None) -> str:
    """The msgid of ``code`` as a short clause (``REASONS``), for a line that gives no platform."""
    if code is not None and code in REASONS:
        return REASONS[code]
    return RETRIES_USED_UP if code in RETRIED else SOMETHING_INSIDE


RETRIED = frozenset(
    {"unreachable", "timeout", "answer_lost", "bad_answer", "server_error", "rate_limited"}
)
"""Codes that may pass by themselves: the next sync or attempt can succeed."""

THE_PLATFORM = N_("the platform")


@dataclass(frozen=True)
class Failure:
    """One failure as it is stored: ``code`` and ``params`` for people, ``technical`` for logs."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)
    technical: str = ""

    @property
    def retried(self) -> bool:
        return self.code in RETRIED


def _plain_params(params: Mapping[str, object]) -> dict[str, Any]:
    """A desk error's parameters as JSON: msgids kept as ``{"msgid": ...}`` to translate later."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, Msgid):
            out[key] = {"msgid": str(value)}
        elif isinstance(value, tuple | list):
            out[key] = [{"msgid": str(v)} if isinstance(v, Msgid) else str(v) for v in value]
        elif value is None or isinstance(value, bool | int | float):
            out[key] = value
        else:
            out[key] = str(value)
    return out


def _from_plain(value: Any) -> object:
    if isinstance(value, dict) and set(value) == {"msgid"}:
        return Msgid(value["msgid"])
    if isinstance(value, list):
        return [_from_plain(v) for v in value]
    return value


def technical(exc: BaseException) -> str:
    """The exception as a manager or a log reads it: its class and its English text."""
    text = exc.english if isinstance(exc, AfterSalesError) else str(exc)
    cause = exc.__cause__
    if cause is not None and not isinstance(exc, ConnectorError):
        text += f" ({type(cause).__name__}: {cause})"
    return f"{type(exc).__name__}: {text}"[:TECHNICAL_MAX]


def _classify(exc: BaseException) -> tuple[str, dict[str, Any]]:
    if isinstance(exc, AuthFailed):
        return "auth", {}
    if isinstance(exc, RateLimited):
        return "rate_limited", {}
    if isinstance(exc, WriteRefused):
        return "write_refused", {}
    if isinstance(exc, PlatformError):
        if exc.trouble is not None and exc.trouble in DETAILS:
            return "unreachable", {"detail": {"msgid": DETAILS[exc.trouble]}}
        if exc.trouble is not None:
            return str(exc.trouble), {}
        if exc.status is not None and exc.status >= 500:
            return "server_error", {}
        return "platform_error", {}
    if isinstance(exc, BadPayload):
        return "bad_record", {}
    if isinstance(exc, connector_registry.UnknownPlatform):
        return "no_connector", {}
    if isinstance(exc, ConnectorError):
        return "platform_error", {}
    if isinstance(exc, TimeoutError):
        return "timeout", {}
    if isinstance(exc, AfterSalesError):
        return "desk", {"msgid": exc.template, "params": _plain_params(exc.params)}
    return "internal", {}


def of_exception(exc: BaseException) -> Failure:
    """The failure ``exc`` stands for; a desk error raised from a platform's is the platform's.

    An outbox handler turns a platform's refusal into ``PermanentFailure``
    ``from`` it: the agent needs the platform's reason, not the wrapper's.
    """
    cause = exc.__cause__
    about = cause if isinstance(exc, AfterSalesError) and isinstance(cause, ConnectorError) else exc
    code, params = _classify(about)
    return Failure(code, params, technical(exc))


def no_handler(kind: str) -> Failure:
    return Failure("no_handler", {}, f"no handler for outbox kind {kind!r}")


def platform_name(platform: str | None) -> str:
    """The platform as its connector names it, in the reader's language."""
    manifest = connector_registry.find(platform) if platform else None
    return str(i18n.gettext(manifest.label if manifest else THE_PLATFORM))


def sentence(code: str | None, params: Mapping[str, Any] | None, platform: str | None) -> str:
    """The stored failure in the reader's language; an unknown or missing code reads generic."""
    params = params or {}
    if code == "desk" and isinstance(params.get("msgid"), str):
        inner = params.get("params") or {}
        return render(params["msgid"], {k: _from_plain(v) for k, v in inner.items()})
    msgid = SENTENCES.get(code or "", SENTENCES["internal"])
    values: dict[str, object] = {k: _from_plain(v) for k, v in params.items()}
    values["platform"] = platform_name(platform)
    text = render(msgid, values)
    return text[:1].upper() + text[1:]


def is_retried(code: str | None) -> bool:
    return code in RETRIED
