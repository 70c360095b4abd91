"""A fake Kuaidi100 real-time query (``POST /poll/query.do``), as its SDK demos describe it.

Parcels are registered with their events; the fake checks the signature
(uppercase MD5 of ``param + key + customer``) and answers in Kuaidi100's
shapes: events newest first with China-time strings, ``state``/``ischeck``,
and ``{"result": false, "returnCode": ..., "message": ...}`` for errors.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

CHINA = ZoneInfo("Asia/Shanghai")


@dataclass
class Parcel:
    com: str
    num: str
    events: list[tuple[datetime, str, str]] = field(default_factory=list)  # (at, text, status)

    @property
    def state(self) -> str:
        return self.events[-1][2] if self.events else "0"


@dataclass
class FakeKuaidi100:
    customer: str = "FAKECUSTOMER0001"
    key: str = "fake-kuaidi-key"
    parcels: dict[tuple[str, str], Parcel] = field(default_factory=dict)
    queries: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_event(self, com: str, num: str, at: datetime, text: str, status: str) -> None:
        """The carrier scans the parcel (status "3" is signed for)."""
        with self.lock:
            parcel = self.parcels.setdefault((com, num), Parcel(com, num))
            parcel.events.append((at, text, status))

    def answer(self, form: dict[str, str]) -> dict:
        with self.lock:
            self.queries.append(form)
            param = form.get("param", "")
            expected = hashlib.md5((param + self.key + form.get("customer", "")).encode())
            if form.get("customer") != self.customer or form.get("sign") != (
                expected.hexdigest().upper()
            ):
                return {"result": False, "returnCode": "503", "message": "验证签名失败"}
            try:
                asked = json.loads(param)
                key = (asked["com"], asked["num"])
            except (ValueError, KeyError, TypeError):
                return {"result": False, "returnCode": "400", "message": "找不到对应公司"}
            parcel = self.parcels.get(key)
            if parcel is None or not parcel.events:
                return {
                    "result": False,
                    "returnCode": "500",
                    "message": "查询无结果，请隔段时间再查",
                }
            data = [
                {
                    "time": at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    "ftime": at.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S"),
                    "context": text,
                    "status": status,
                }
                for at, text, status in reversed(parcel.events)
            ]
            return {
                "message": "ok",
                "nu": parcel.num,
                "ischeck": "1" if parcel.state == "3" else "0",
                "com": parcel.com,
                "status": "200",
                "condition": "F00",
                "state": parcel.state,
                "data": data,
            }


def make_app(fake: FakeKuaidi100) -> Starlette:
    async def query(request: Request) -> JSONResponse:
        form = await request.form()
        return JSONResponse(fake.answer({k: str(v) for k, v in form.items()}))

    return Starlette(routes=[Route("/poll/query.do", query, methods=["POST"])])
