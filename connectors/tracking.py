"""Parcel tracking: carrier code + tracking number -> events, through a Kuaidi100-style API.

The returns module follows buyers' return parcels with this (a job polls
parcels in transit and moves a case on when the carrier reports delivery).
One provider is built: Kuaidi100's real-time query (``/poll/query.do``),
whose shape is taken from its own SDK demos (kuaidi100-api/java-demo and
python-demo): a form POST of ``customer``, ``param`` (JSON with ``com`` and
``num``, optionally ``phone``) and ``sign`` = uppercase MD5 of
``param + key + customer``. The answer carries ``state`` (0 in transit,
1 collected, 2 problem, 3 signed for, 4 refused-and-signed, 5 out for
delivery, 6 returning, 7 transferred, 14 refused), ``ischeck`` ("1" once
signed for) and ``data`` events with local (China) times. Failures answer
``{"result": false, "returnCode": ..., "message": ...}``; which codes mean
what is read from the SDK's comments and is not confirmed against the live
service: 500 no result yet, 503 bad signature, 601 the account's key expired
or ran out.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from connectors.base import AuthFailed, BadPayload, ConnectorError, PlatformError, Record
from connectors.http import PlatformClient

DEFAULT_BASE_URL = "https://poll.kuaidi100.com"
CHINA = ZoneInfo("Asia/Shanghai")


class TrackingState(StrEnum):
    IN_TRANSIT = "in_transit"
    COLLECTED = "collected"
    PROBLEM = "problem"
    DELIVERED = "delivered"
    REFUSED = "refused"
    OUT_FOR_DELIVERY = "out_for_delivery"
    RETURNING = "returning"
    TRANSFERRED = "transferred"
    UNKNOWN = "unknown"


STATES = {
    "0": TrackingState.IN_TRANSIT,
    "1": TrackingState.COLLECTED,
    "2": TrackingState.PROBLEM,
    "3": TrackingState.DELIVERED,
    "4": TrackingState.REFUSED,  # 退签: refused, then signed back by the sender
    "5": TrackingState.OUT_FOR_DELIVERY,
    "6": TrackingState.RETURNING,
    "7": TrackingState.TRANSFERRED,
    "14": TrackingState.REFUSED,
}

# Carrier names as shops and platforms write them -> Kuaidi100 carrier codes.
CARRIERS = {
    "中通快递": "zhongtong",
    "中通": "zhongtong",
    "圆通速递": "yuantong",
    "圆通快递": "yuantong",
    "圆通": "yuantong",
    "韵达快递": "yunda",
    "韵达": "yunda",
    "申通快递": "shentong",
    "申通": "shentong",
    "顺丰速运": "shunfeng",
    "顺丰快递": "shunfeng",
    "顺丰": "shunfeng",
    "邮政快递包裹": "youzhengguonei",
    "中国邮政": "youzhengguonei",
    "EMS": "ems",
    "极兔速递": "jtexpress",
    "极兔": "jtexpress",
    "京东快递": "jd",
    "京东": "jd",
}
CODES = frozenset(CARRIERS.values())
# Kuaidi100 carrier codes -> the carrier's name, as an English msgid the desk translates
# (Chinese carriers read in Chinese on a Chinese page: 中通快递, not ``zhongtong``).
CARRIER_NAMES = {
    "zhongtong": "ZTO Express",
    "yuantong": "YTO Express",
    "yunda": "Yunda Express",
    "shentong": "STO Express",
    "shunfeng": "SF Express",
    "youzhengguonei": "China Post parcel",
    "ems": "EMS",
    "jtexpress": "J&T Express",
    "jd": "JD Logistics",
}
# Prefixes some carriers print on every number (not an official list: a typo guard).
PREFIXES = {"shunfeng": ("SF",), "jd": ("JD",), "jtexpress": ("JT",)}
_NUMBER = re.compile(r"^[A-Za-z0-9]{8,32}$")


class TrackingNotFound(ConnectorError):
    """The carrier has no events for this number yet (or never will: a typo)."""


def carrier_code(name: str) -> str:
    """A carrier name or code as Kuaidi100's code; unknown names raise ``ValueError``."""
    cleaned = name.strip()
    if cleaned.lower() in CODES:
        return cleaned.lower()
    if cleaned in CARRIERS:
        return CARRIERS[cleaned]
    if cleaned.upper() in CARRIERS:
        return CARRIERS[cleaned.upper()]
    raise ValueError(f"unknown carrier {name!r}")


def check_tracking_no(code: str, number: str) -> str:
    """The number as the carrier prints it, or ``ValueError`` saying what is wrong."""
    cleaned = re.sub(r"\s+", "", number).upper()
    if not _NUMBER.match(cleaned):
        raise ValueError("a tracking number is 8 to 32 letters and digits")
    prefixes = PREFIXES.get(code)
    if prefixes and not cleaned.startswith(prefixes):
        raise ValueError(f"{code} numbers start with {' or '.join(prefixes)}")
    return cleaned


class TrackingEvent(Record):
    at: datetime
    text: str
    state: TrackingState | None = None


class TrackingResult(Record):
    carrier: str
    tracking_no: str
    state: TrackingState
    delivered: bool
    events: list[TrackingEvent]  # newest first

    @property
    def delivered_at(self) -> datetime | None:
        """When the parcel was signed for: the newest "signed" event, else the newest."""
        if not self.delivered or not self.events:
            return None
        signed = [e for e in self.events if e.state is TrackingState.DELIVERED]
        return (signed or self.events)[0].at


class TrackingProvider(Protocol):
    async def track(
        self, carrier: str, tracking_no: str, *, phone: str | None = None
    ) -> TrackingResult: ...

    async def aclose(self) -> None: ...


def sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def _local_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA).astimezone(UTC)


def parse_result(body: Any, *, carrier: str, tracking_no: str) -> TrackingResult:
    """One query answer as a result; an error answer raises the matching typed error."""
    if not isinstance(body, dict):
        raise BadPayload("Kuaidi100 answered something that is not a JSON object")
    if body.get("result") is False or "returnCode" in body:
        code = str(body.get("returnCode", ""))
        message = str(body.get("message", ""))
        if code == "500":
            raise TrackingNotFound(f"{carrier} {tracking_no}: {message or 'no events yet'}")
        if code in ("503", "601"):
            raise AuthFailed(f"Kuaidi100 refused the account ({code}): {message}")
        raise PlatformError(f"Kuaidi100 {code}: {message}", code=code)
    try:
        events = [
            TrackingEvent(
                at=_local_time(item.get("ftime") or item["time"]),
                text=str(item.get("context", "")),
                state=STATES.get(str(item.get("status") or item.get("statusCode") or "")),
            )
            for item in body.get("data") or []
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPayload(f"{carrier} {tracking_no}: unreadable event {exc!r}") from None
    events.sort(key=lambda e: e.at, reverse=True)
    state = STATES.get(str(body.get("state", "")), TrackingState.UNKNOWN)
    return TrackingResult(
        carrier=str(body.get("com") or carrier),
        tracking_no=str(body.get("nu") or tracking_no),
        state=state,
        delivered=str(body.get("ischeck")) == "1" or state is TrackingState.DELIVERED,
        events=events,
    )


class Kuaidi100:
    """Kuaidi100's real-time query. Credentials: ``customer`` and ``key``."""

    def __init__(
        self,
        *,
        customer: str,
        key: str,
        base_url: str | None = None,
        **client_options: Any,
    ) -> None:
        self.customer = customer
        self.key = key
        self.client = PlatformClient((base_url or DEFAULT_BASE_URL).rstrip("/"), **client_options)

    async def track(
        self, carrier: str, tracking_no: str, *, phone: str | None = None
    ) -> TrackingResult:
        code = carrier_code(carrier)
        number = check_tracking_no(code, tracking_no)
        fields = {"com": code, "num": number}
        if phone:
            fields["phone"] = phone[-4:]  # SF and a few others ask for a phone tail
        param = orjson.dumps(fields).decode()
        body, _ = await self.client.json(
            "POST",
            "/poll/query.do",
            data={
                "customer": self.customer,
                "param": param,
                "sign": sign(param, self.key, self.customer),
            },
        )
        return parse_result(body, carrier=code, tracking_no=number)

    async def aclose(self) -> None:
        await self.client.aclose()
