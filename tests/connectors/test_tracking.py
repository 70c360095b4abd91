"""Tracking parcels through a Kuaidi100-style API, against a fake that checks signatures."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from connectors.base import AuthFailed
from connectors.tracking import (
    Kuaidi100,
    TrackingNotFound,
    TrackingState,
    carrier_code,
    check_tracking_no,
    sign,
)
from tests.fakes.kuaidi100 import FakeKuaidi100, make_app
from tests.fakes.serve import serve


def test_sign_is_uppercase_md5_of_param_key_customer() -> None:
    param = '{"com":"yuantong","num":"YT9693083639795"}'
    independent = hashlib.md5(f"{param}k3yC0STOMER".encode()).hexdigest().upper()
    assert sign(param, "k3y", "C0STOMER") == independent


@pytest.mark.parametrize(
    ("name", "code"),
    [("中通快递", "zhongtong"), ("顺丰", "shunfeng"), ("EMS", "ems"), ("yunda", "yunda"),
     ("ems", "ems"), ("京东快递", "jd")],
)  # fmt: skip
def test_carrier_names_map_to_codes(name: str, code: str) -> None:
    assert carrier_code(name) == code


def test_unknown_carriers_and_malformed_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown carrier"):
        carrier_code("飞鸽传书")
    assert check_tracking_no("zhongtong", " 7531 0000 1234 ") == "753100001234"
    with pytest.raises(ValueError, match="8 to 32"):
        check_tracking_no("zhongtong", "75-31")
    with pytest.raises(ValueError, match="start with SF"):
        check_tracking_no("shunfeng", "1234567890123")
    assert check_tracking_no("shunfeng", "sf1234567890123") == "SF1234567890123"


async def test_a_parcel_signed_for_reports_delivery_with_its_time() -> None:
    fake = FakeKuaidi100()
    collected = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    signed = datetime(2026, 11, 22, 6, 30, tzinfo=UTC)
    fake.add_event("zhongtong", "75310001", collected, "【杭州市】快件已揽收", "1")
    fake.add_event("zhongtong", "75310001", signed, "【仓库】已签收，签收人：仓库", "3")
    with serve(make_app(fake)) as url:
        provider = Kuaidi100(customer=fake.customer, key=fake.key, base_url=url)
        result = await provider.track("中通快递", "75310001")
        await provider.aclose()
    assert result.delivered and result.state is TrackingState.DELIVERED
    assert result.delivered_at == signed
    assert [e.at for e in result.events] == [signed, collected]  # newest first, in UTC
    assert fake.queries[0]["param"] == '{"com":"zhongtong","num":"75310001"}'


async def test_in_transit_unknown_and_refused_credentials() -> None:
    fake = FakeKuaidi100()
    fake.add_event("yunda", "43000001", datetime(2026, 11, 21, tzinfo=UTC), "运输中", "0")
    with serve(make_app(fake)) as url:
        provider = Kuaidi100(customer=fake.customer, key=fake.key, base_url=url)
        moving = await provider.track("韵达", "43000001")
        assert (moving.delivered, moving.state, moving.delivered_at) == (
            False,
            TrackingState.IN_TRANSIT,
            None,
        )
        with pytest.raises(TrackingNotFound):
            await provider.track("韵达", "43000002")
        await provider.aclose()
        wrong = Kuaidi100(customer=fake.customer, key="not-the-key", base_url=url)
        with pytest.raises(AuthFailed):
            await wrong.track("韵达", "43000001")
        await wrong.aclose()
