"""Evidence for arbitration: photos checked by their bytes, excerpts kept, one zip to upload."""

from __future__ import annotations

import io
import re
import zipfile

import httpx

from aftersales.core.models import AuditEvent, Role
from aftersales.orders.models import Shipment
from aftersales.refunds.models import Refund, RefundEvidence, RefundStatus
from tests.conftest import csrf_from, sign_in
from tests.factories import create_user
from tests.refunds.test_service import demo_shop

CHAT = "买家：收到了，东西没问题，就是不想要了"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


async def test_an_agent_builds_an_evidence_pack(client: httpx.AsyncClient, app) -> None:
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED, intercept_parcel=True).first()
    url = f"/refunds/{refund.id}"
    token = await csrf_from(client, url)
    photo = await client.post(
        f"{url}/evidence",
        data={"csrf_token": token, "kind": "photo"},
        files={"photo": ("包装完好.png", PNG, "image/png")},
        follow_redirects=True,
    )
    assert "Evidence kept with the refund." in photo.text
    chat = await client.post(
        f"{url}/evidence",
        data={"csrf_token": token, "kind": "chat", "text": CHAT},
        follow_redirects=True,
    )
    assert "就是不想要了" in chat.text
    # A file that only claims to be a photo is refused, and nothing is kept.
    fake = await client.post(
        f"{url}/evidence",
        data={"csrf_token": token, "kind": "photo"},
        files={"photo": ("x.png", b"<script>alert(1)</script>", "image/png")},
        follow_redirects=True,
    )
    assert "Only JPEG, PNG, GIF or WebP photos are kept." in fake.text
    assert await RefundEvidence.filter(refund_id=refund.id).count() == 2
    assert await AuditEvent.filter(action="refund.evidence_added").count() == 2

    stored = await RefundEvidence.get(refund_id=refund.id, kind="photo")
    served = await client.get(f"{url}/evidence/{stored.id}")
    assert served.content == PNG and served.headers["content-type"] == "image/png"
    pack = await client.get(f"{url}/evidence.zip")
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        assert archive.read("photos/photo-1.png") == PNG
        summary = archive.read("summary.txt").decode()
    parcel = await Shipment.filter(order_id=refund.order_id).first()
    assert parcel.tracking_no in summary and "就是不想要了" in summary
    assert refund.platform_order_id in summary

    client.cookies.clear()
    assert (await client.get(f"{url}/evidence/{stored.id}")).status_code in (302, 303, 401)


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


async def test_photos_are_kept_private_and_the_pack_names_them_itself(
    client: httpx.AsyncClient, app, settings
) -> None:
    from tests.core.test_files import loose_umask, mode

    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED).first()
    url = f"/refunds/{refund.id}"
    token = await csrf_from(client, url)
    folder = settings.data_dir / "evidence" / str(refund.id)
    # The data dir lives as long as the session and ids restart: only this test's files count.
    before = set(folder.iterdir()) if folder.exists() else set()
    with loose_umask():
        for name, data, kind in (
            ("../../etc/passwd.jpg", JPEG, "image/jpeg"),
            ("<script>alert(1)</script>.png", PNG, "image/png"),
        ):
            kept = await client.post(
                f"{url}/evidence",
                data={"csrf_token": token, "kind": "photo"},
                files={"photo": (name, data, kind)},
                follow_redirects=True,
            )
            assert "Evidence kept with the refund." in kept.text
    assert mode(settings.data_dir / "evidence") == 0o700 and mode(folder) == 0o700
    stored = sorted(set(folder.iterdir()) - before)
    assert len(stored) == 2 and all(mode(p) == 0o600 for p in stored)
    assert not (settings.data_dir / "etc").exists()

    pack = await client.get(f"{url}/evidence.zip")
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        assert archive.namelist() == ["summary.txt", "photos/photo-1.jpg", "photos/photo-2.png"]
        assert archive.read("photos/photo-1.jpg") == JPEG
        assert archive.read("photos/photo-2.png") == PNG


async def test_the_summary_speaks_the_buyers_language_in_words_not_codes(
    client: httpx.AsyncClient, app
) -> None:
    """The arbitrator of a Chinese platform reads Chinese, whoever downloads the pack."""
    await demo_shop()
    await create_user(username="agent", role=Role.AGENT)
    await sign_in(client, "agent")
    refund = await Refund.filter(status=RefundStatus.REQUESTED, intercept_parcel=True).first()
    url = f"/refunds/{refund.id}"
    token = await csrf_from(client, url)
    await client.post(
        f"{url}/evidence", data={"csrf_token": token, "kind": "note", "text": "已拦截"}
    )
    pack = await client.get(f"{url}/evidence.zip", headers={"Accept-Language": "en"})
    with zipfile.ZipFile(io.BytesIO(pack.content)) as archive:
        summary = archive.read("summary.txt").decode()
    parcel = await Shipment.filter(order_id=refund.order_id).first()
    assert f"类型：{ {'refund_only': '仅退款'}.get(refund.kind.value, '退货退款') }" in summary
    assert f"寄给买家：{parcel.carrier} {parcel.tracking_no}" in summary, summary
    assert "已添加举证材料" in summary and "已拦截" in summary, summary
    for code in (refund.kind.value, "refund.evidence_added", "outbound", "note", "Kind:", "sent"):
        assert code not in summary, (code, summary)
    assert not re.search(r"[a-z]+_[a-z]+", summary), summary  # no snake_case code at all
