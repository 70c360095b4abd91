"""The JSON API's shell: conventions, ``/api/v1/me`` and the OpenAPI document.

An API route is a Starlette ``Route`` made with ``api_route``, which keeps a
summary and the roles beside it so ``openapi.json`` lists every endpoint of
every module without a second list to keep in sync.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import aftersales
from aftersales.core.auth import EVERYONE, MAX_TEXT, current_user
from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_
from aftersales.core.models import Role, User
from aftersales.core.money import optional_amount

MAX_ID = 2**31 - 1
"""The largest id any table hands out: ids are ``INTEGER`` (int4 on PostgreSQL).

A bigger number cannot name a row, and asking the database for one is an
overflow error on both backends, so paths and parameters refuse it first.
"""
MAX_PAGE = 100_000
"""Far past any real list, yet ``page * per_page`` stays a small OFFSET."""
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2999, 12, 31)
"""Dates outside these cannot be a shop's order or report day, and the ends of
Python's calendar (0001-01-01, 9999-12-31) overflow once moved into UTC."""


def _digits_up_to(limit: int) -> str:
    """A regex matching exactly the decimal numbers 1..limit, without leading zeros."""
    text = str(limit)
    parts = [f"[1-9][0-9]{{0,{len(text) - 2}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        low = 1 if i == 0 else 0
        high = int(digit) - 1
        if high >= low:
            rest = len(text) - i - 1
            parts.append(f"{text[:i]}[{low}-{high}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    parts.append(text)
    return "(?:" + "|".join(parts) + ")"


class IdConvertor(Convertor[int]):
    """``{name:id}``: a row id 1..MAX_ID; anything else does not match, so it is a 404.

    Starlette's ``int`` convertor matches any run of digits and hands a
    20-digit number to the database, which overflows (a 500).
    """

    regex = _digits_up_to(MAX_ID)

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


def query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    """One documented query parameter of an API route (always optional here)."""
    parameter: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


ID_QUERY = {"type": "integer", "format": "int64", "minimum": 1}
PAGING = (
    query("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}),
    query("per_page", {"type": "integer", "minimum": 1, "maximum": 500}),
)
DAY = {"type": "string", "format": "date"}
AMOUNT = {"type": "string", "pattern": r"^[0-9]{1,10}(\.[0-9]{1,2})?$"}


def api_route(
    path: str,
    endpoint: Callable[[Request], Awaitable[Response]],
    *,
    methods: Sequence[str] = ("GET",),
    summary: str,
    roles: frozenset[Role] = EVERYONE,
    response: dict[str, Any] | None = None,
    public: bool = False,
    params: Sequence[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    status: int = 200,
) -> Route:
    """A Route plus what ``openapi.json`` says of it: query ``params``, the JSON
    ``body`` an unsafe method takes, and the ``status`` of its success."""
    route = Route(path, endpoint, methods=list(methods))
    route.openapi = {  # type: ignore[attr-defined]
        "summary": summary,
        "roles": sorted(r.value for r in roles),
        "response": response or {"type": "object"},
        "public": public,
        "params": list(params),
        "body": body,
        "status": status,
    }
    return route


def json_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_money(value: Decimal) -> str:
    return f"{value:.2f}"


_WHOLE = re.compile(r"-?[0-9]{1,19}")
MAX_JSON_BYTES = 1024 * 1024


def int_param(
    value: str | None, default: int, *, name: str, minimum: int = 0, maximum: int = MAX_ID
) -> int:
    """A whole-number parameter within bounds, else a 400 naming it (pages and API alike)."""
    if value is None or not value.strip():
        return default
    text = value.strip()
    number = int(text) if _WHOLE.fullmatch(text) else None
    if number is None or not minimum <= number <= maximum:
        raise InvalidInput(
            N_("%(name)s must be a whole number from %(min)s to %(max)s."),
            name=name,
            min=minimum,
            max=maximum,
            code="invalid_parameter",
        )
    return number


def number_or_none(value: str | None, *, maximum: int = MAX_ID) -> int | None:
    """A lenient page filter or hidden field: ASCII digits 0..maximum, else ``None``.

    ``str.isdecimal`` also accepts a 30-digit number, which then overflowed
    the database; pages that ignore a bad filter use this instead.
    """
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    number = int(text)
    return number if number <= maximum else None


def id_param(value: str | None, *, name: str) -> int | None:
    """An optional id filter (``store_id=``): blank is no filter, else 1..MAX_ID."""
    if value is None or not value.strip():
        return None
    return int_param(value, 0, name=name, minimum=1)


def page_param(value: str | None, *, name: str = "page") -> int:
    return int_param(value, 1, name=name, minimum=1, maximum=MAX_PAGE)


def _day_range_error(name: str) -> InvalidInput:
    return InvalidInput(
        N_("%(name)s must be a day between %(first)s and %(last)s."),
        name=name,
        first=FIRST_DAY.isoformat(),
        last=LAST_DAY.isoformat(),
        code="invalid_parameter",
    )


def date_param(value: str | None, *, name: str) -> date | None:
    """A calendar day typed by a person (report periods, filters), 1970..2999."""
    if value is None or not value.strip():
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            N_("Dates are written YYYY-MM-DD."), name=name, code="invalid_parameter"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _day_range_error(name)
    return day


def time_param(value: str | None, *, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        day = parsed.astimezone(UTC).date()
    except (ValueError, OverflowError):
        raise InvalidInput(
            N_("%(name)s must be an ISO 8601 time."), name=name, code="invalid_parameter"
        ) from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _day_range_error(name)
    return parsed


def amount_param(value: str | None, *, name: str) -> Decimal | None:
    """An amount filter: blank is none; NaN, Infinity and negatives are a 400."""
    return optional_amount(value, name=name)


def choice_param(kind: Any, value: str | None, name: str) -> Any:
    if not value:
        return None
    if value not in {e.value for e in kind}:
        choices = ", ".join(e.value for e in kind)
        raise InvalidInput(
            N_("%(name)s must be one of %(choices)s."),
            name=name,
            choices=choices,
            code="invalid_parameter",
        )
    return kind(value)


async def json_body(request: Request) -> dict[str, Any]:
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BYTES:
            raise InvalidInput(
                N_("The body is over %(max)s bytes."), max=MAX_JSON_BYTES, code="body_too_large"
            )
    if not raw:
        return {}
    try:
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise InvalidInput(N_("The body must be a JSON object."), code="invalid_json")
        _check_strings(body)
    except (ValueError, RecursionError):  # RecursionError: [[[[... nested past any meaning
        raise InvalidInput(N_("The body must be JSON."), code="invalid_json") from None
    return body


def _check_strings(value: Any, name: str = "") -> None:
    """No string in a JSON body is longer than a person could mean (``MAX_TEXT``).

    Columns with a ``max_length`` are checked again by the services and the
    ORM; this bounds the TEXT ones (notes, reasons) the same way on every backend.
    """
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise InvalidInput(
            N_("%(field)s is at most %(max)s characters; this one has %(length)s."),
            field=name or "body",
            max=MAX_TEXT,
            length=len(value),
            code="too_long",
        )
    if isinstance(value, dict):
        for key, item in value.items():
            _check_strings(item, f"{name}.{key}" if name else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{name}[{index}]")


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > 100:
        raise InvalidInput(
            N_("Idempotency-Key is at most %(max)s characters."), max=100, code="invalid_header"
        )
    return key or None


def body_int(value: Any, *, name: str, minimum: int = 1, maximum: int = MAX_ID) -> int:
    """A whole number in a JSON body (an id, a count) within what a column holds.

    JSON has no bound: 22376140650349096 as an ``order_id`` overflowed an
    int4 column on PostgreSQL (a 500, found by schemathesis).
    """
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise InvalidInput(
            N_("%(name)s must be a whole number from %(min)s to %(max)s."),
            name=name,
            min=minimum,
            max=maximum,
            code="invalid_parameter",
        )
    return value


def expected_version(body: dict[str, Any]) -> int | None:
    version = body.get("version")
    if version is None:
        return None
    return body_int(version, name="version", minimum=0)


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role.value,
        "locale": user.locale,
    }


USER_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "display_name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "locale": {"type": ["string", "null"]},
    },
}


async def me(request: Request) -> Response:
    return JSONResponse(user_json(current_user(request)))


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
ERRORS = {
    "400": "Malformed input: a parameter, header or body that cannot be read",
    "401": "No valid bearer token",
    "403": "The token's role may not do this",
    "404": "No such thing (ids above 2147483647 name no row)",
    "409": "Someone changed or decided it first, or it is in the wrong state",
    "422": "Well-formed input the rules refuse",
}
PATH_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")


def _path_parameter(name: str, convertor: str | None) -> dict[str, Any]:
    if convertor == "id":
        schema: dict[str, Any] = {"type": "integer", "format": "int64", "minimum": 1}
    else:
        schema = {"type": "string"}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def openapi_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    """OpenAPI 3.1 for every ``api_route``: parameters, bodies and each status it answers.

    Schema-driven tools (schemathesis, in tests/core/test_schemathesis.py)
    generate requests from this, so what it promises is checked.
    """
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        meta = getattr(route, "openapi", None)
        if meta is None or not isinstance(route, Route):
            continue
        path = "/api/v1" + route.path
        openapi_path = PATH_PARAM.sub(r"{\1}", path)
        path_params = [_path_parameter(n, c or None) for n, c in PATH_PARAM.findall(route.path)]
        for method in sorted((route.methods or set()) - {"HEAD"}):
            errors = {
                code: {"$ref": f"#/components/responses/E{code}"}
                for code in ERRORS
                if not (meta["public"] and code in ("401", "403"))
            }
            operation: dict[str, Any] = {
                "summary": meta["summary"],
                "x-roles": meta["roles"],
                "parameters": [*path_params, *meta["params"]],
                "responses": {
                    str(meta["status"]): {
                        "description": "OK",
                        "content": {"application/json": {"schema": meta["response"]}},
                    },
                    **errors,
                },
            }
            if method in ("POST", "PUT", "PATCH"):
                operation["requestBody"] = {
                    "required": meta["body"] is not None,
                    "content": {"application/json": {"schema": meta["body"] or {"type": "object"}}},
                }
                operation["parameters"].append(
                    query_header("Idempotency-Key", {"type": "string", "maxLength": 100})
                )
            if meta["public"]:
                operation["security"] = []
            paths.setdefault(openapi_path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "aftersales", "version": aftersales.__version__},
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR_SCHEMA},
            "responses": {
                f"E{code}": {
                    "description": text,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                }
                for code, text in ERRORS.items()
            },
        },
    }


def query_header(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": schema}


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.api_routes))


api_routes = [
    api_route("/me", me, summary="The signed-in user", response=USER_SCHEMA),
    api_route("/openapi.json", openapi, summary="This document", public=True),
]
