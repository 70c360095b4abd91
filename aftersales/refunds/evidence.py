"""Evidence for platform arbitration: photos, chat excerpts, notes, and the pack.

When a buyer escalates (平台介入), the arbitrator decides on what the shop
shows within a short window. The pack gathers it in one download: the
photos as they were uploaded, and a summary text with the refund, the
order, the parcels and their tracking numbers (the logistics trace), the
chat excerpts and the history of the case.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import AuditEvent, User
from aftersales.core.photos import Upload, extension_for, save_photo
from aftersales.orders.models import Order, Shipment
from aftersales.refunds.models import EvidenceKind, Refund, RefundEvidence

MAX_TEXT = 5000


def evidence_dir(data_dir: Path, refund_id: int) -> Path:
    return data_dir / "evidence" / str(refund_id)


async def add_evidence(
    refund_id: int,
    *,
    actor: User,
    kind: EvidenceKind,
    data_dir: Path,
    text: str = "",
    upload: Upload | None = None,
) -> RefundEvidence:
    """Keep one item of evidence; a bad file or an empty excerpt is refused whole."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound(N_("No refund with id %(id)s."), id=refund_id)
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            N_("Keep an excerpt under %(max)s characters."),
            obj=refund,
            max=MAX_TEXT,
            code="too_long",
        )
    stored, content_type, name, size = "", "", "", 0
    if kind is EvidenceKind.PHOTO:
        photo = save_photo(evidence_dir(data_dir, refund.id), upload or Upload("", b""))
        stored, content_type = photo.stored_as, photo.content_type
        name, size = photo.file_name, photo.size
    elif not text:
        raise InvalidInput(N_("Paste the chat excerpt or write the note first."), obj=refund)
    async with in_transaction() as conn:
        item = await RefundEvidence.create(
            refund=refund,
            kind=kind,
            text=text,
            file_name=name,
            stored_as=stored,
            content_type=content_type,
            size=size,
            added_by=actor,
            added_at=clock.now(),
            using_db=conn,
        )
        await audit.record(
            "refund.evidence_added",
            subject_type="refund",
            subject_id=refund.id,
            actor=actor,
            data={"kind": kind.value, "file": name},
            using_db=conn,
        )
    return item


async def evidence_file(refund_id: int, evidence_id: int, data_dir: Path) -> tuple[Path, str]:
    item = await RefundEvidence.get_or_none(id=evidence_id, refund_id=refund_id)
    if item is None or not item.stored_as:
        raise NotFound(N_("No such photo."), id=evidence_id)
    return evidence_dir(data_dir, refund_id) / item.stored_as, item.content_type


async def evidence_pack(refund_id: int, data_dir: Path, zone: ZoneInfo) -> bytes:
    """A zip the agent uploads to the platform: summary.txt and the photos."""
    refund = await Refund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound(N_("No refund with id %(id)s."), id=refund_id)
    order = await Order.get_or_none(id=refund.order_id) if refund.order_id else None
    parcels = await Shipment.filter(order_id=order.id).order_by("id") if order else []
    items = await RefundEvidence.filter(refund_id=refund.id).order_by("added_at", "id")
    events = await AuditEvent.filter(subject_type="refund", subject_id=str(refund.id)).order_by(
        "at", "id"
    )

    def when(value: object) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "-"  # type: ignore[attr-defined]

    lines = [
        f"退款 Refund {refund.platform_refund_id or refund.id}",
        f"订单 Order {refund.platform_order_id}",
        f"类型 Kind: {refund.kind.value}",
        f"申请金额 Requested: {refund.requested_amount:.2f} {refund.currency}",
        f"买家原因 Buyer's reason: {refund.platform_reason or '-'}",
        f"买家留言 Buyer wrote: {refund.buyer_text or '-'}",
        f"申请时间 Requested at: {when(refund.requested_at)}",
    ]
    if order is not None:
        lines += [
            f"实付 Paid: {order.paid_amount:.2f} {order.currency} at {when(order.paid_at)}",
            f"发货 Shipped at: {when(order.shipped_at)}",
        ]
    lines += ["", "物流 Parcels (logistics trace):"]
    lines += [
        f"  {p.direction.value}: {p.carrier} {p.tracking_no} sent {when(p.shipped_at)}"
        for p in parcels
    ] or ["  -"]
    lines += ["", "聊天记录与说明 Chat excerpts and notes:"]
    for item in items:
        if item.kind is not EvidenceKind.PHOTO:
            lines += [f"  [{when(item.added_at)}] {item.kind.value}:", f"  {item.text}", ""]
    lines += ["", "处理记录 History:"]
    lines += [f"  {when(e.at)} {e.action}" for e in events]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("summary.txt", "\n".join(lines) + "\n")
        folder = evidence_dir(data_dir, refund.id)
        photos = [i for i in items if i.kind is EvidenceKind.PHOTO and i.stored_as]
        for n, item in enumerate(photos, start=1):
            if (folder / item.stored_as).exists():
                # Our name, with the extension of the type read from the bytes: the
                # uploader's file name could climb out of the folder when unzipped
                # (``../../x``) or carry markup into the arbitrator's file list.
                archive.write(
                    folder / item.stored_as, f"photos/photo-{n}{extension_for(item.content_type)}"
                )
    return buffer.getvalue()
