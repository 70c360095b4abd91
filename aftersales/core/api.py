"""The JSON API's shell: conventions, ``/api/v1/me`` and the OpenAPI document.

An API route is a Starlette ``Route`` made with ``api_route``, which keeps a
summary and the roles beside it so ``openapi.json`` lists every endpoint of
every module without a second list to keep in sync.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

import aftersales
from aftersales.core.auth import EVERYONE, current_user
from aftersales.core.errors import InvalidInput
from aftersales.core.models import Role, User


def api_route(
    path: str,
    endpoint: Callable[[Request], Awaitable[Response]],
    *,
    methods: Sequence[str] = ("GET",),
    summary: str,
    roles: frozenset[Role] = EVERYONE,
    response: dict[str, Any] | None = None,
    public: bool = False,
) -> Route:
    route = Route(path, endpoint, methods=list(methods))
    route.openapi = {  # type: ignore[attr-defined]
        "summary": summary,
        "roles": sorted(r.value for r in roles),
        "response": response or {"type": "object"},
        "public": public,
    }
    return route


def json_time(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def json_money(value: Decimal) -> str:
    return f"{value:.2f}"


def int_param(value: str | None, default: int, *, name: str) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number.", code="invalid_parameter") from None


def time_param(value: str | None, *, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an ISO 8601 time.", code="invalid_parameter") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def choice_param(kind: Any, value: str | None, name: str) -> Any:
    if not value:
        return None
    if value not in {e.value for e in kind}:
        raise InvalidInput(f"Unknown {name} {value!r}.", code="invalid_parameter")
    return kind(value)


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise InvalidInput("The body must be JSON.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise InvalidInput("The body must be a JSON object.", code="invalid_json")
    return body


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key", "").strip()
    if len(key) > 100:
        raise InvalidInput("Idempotency-Key is at most 100 characters.", code="invalid_header")
    return key or None


def expected_version(body: dict[str, Any]) -> int | None:
    version = body.get("version")
    if version is None:
        return None
    if not isinstance(version, int):
        raise InvalidInput("version must be an integer.", code="invalid_parameter")
    return version


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


def openapi_document(routes: Sequence[BaseRoute]) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        meta = getattr(route, "openapi", None)
        if meta is None or not isinstance(route, Route):
            continue
        path = "/api/v1" + route.path
        params = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        openapi_path = re.sub(r"{(\w+)(?::\w+)?}", r"{\1}", path)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            operation: dict[str, Any] = {
                "summary": meta["summary"],
                "x-roles": meta["roles"],
                "parameters": [
                    {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
                    for p in params
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": meta["response"]}},
                    },
                    "4XX": {"$ref": "#/components/responses/Error"},
                },
            }
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
            "responses": {
                "Error": {
                    "description": "An error",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "error": {
                                        "type": "object",
                                        "properties": {
                                            "code": {"type": "string"},
                                            "message": {"type": "string"},
                                        },
                                    }
                                },
                            }
                        }
                    },
                }
            },
        },
    }


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(request.app.state.api_routes))


api_routes = [
    api_route("/me", me, summary="The signed-in user", response=USER_SCHEMA),
    api_route("/openapi.json", openapi, summary="This document", public=True),
]
