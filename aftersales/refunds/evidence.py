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
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from tortoise.transactions import in_transaction

from aftersales.core import audit, clock, i18n
from aftersales.core.errors import InvalidInput, Msgid, NotFound, render
from aftersales.core.i18n import N_
from aftersales.core.labels import buyer_locale, carrier_name, label_for
from aftersales.core.models import AuditEvent, Store, User
from aftersales.core.money import format_money
from aftersales.core.photos import Upload, extension_for, save_photo
from aftersales.orders.models import Order, Shipment, ShipmentDirection
from aftersales.orders.settings import buyer_language
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


def _summary(
    refund: Refund,
    order: Order | None,
    parcels: list[Shipment],
    items: list[RefundEvidence],
    events: list[AuditEvent],
    zone: ZoneInfo,
) -> list[str]:
    """The summary's lines in the current locale: words, never the desk's codes.

    The arbitrator reads this beside the buyer's story, so a kind reads 仅退款,
    a carrier 中通快递 and the history 已同意, not ``refund_only``, ``zhongtong``
    or ``refund.approved``.
    """

    def when(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "-"

    def line(msgid: str, **params: object) -> str:
        return render(msgid, params)

    lines = [
        line(N_("Refund %(number)s"), number=refund.platform_refund_id or refund.id),
        line(N_("Order %(number)s"), number=refund.platform_order_id),
        line(N_("Kind: %(kind)s"), kind=label_for("refund_kind", refund.kind)),
        line(
            N_("Requested: %(amount)s"),
            amount=format_money(refund.requested_amount, refund.currency),
        ),
        line(N_("Buyer's reason: %(reason)s"), reason=refund.platform_reason or "-"),
        line(N_("Buyer wrote: %(text)s"), text=refund.buyer_text or "-"),
        line(N_("Requested at: %(time)s"), time=when(refund.requested_at)),
    ]
    if order is not None:
        lines += [
            line(
                N_("Paid: %(amount)s at %(time)s"),
                amount=format_money(order.paid_amount, order.currency),
                time=when(order.paid_at),
            ),
            line(N_("Shipped at: %(time)s"), time=when(order.shipped_at)),
        ]
    lines += ["", line(N_("Parcels (logistics trace):"))]
    lines += [
        "  "
        + line(
            N_("%(direction)s: %(carrier)s %(number)s, sent %(time)s"),
            direction=Msgid(
                N_("To the buyer")
                if p.direction is ShipmentDirection.OUTBOUND
                else N_("Back to the shop")
            ),
            carrier=carrier_name(p.carrier) or "-",
            number=p.tracking_no,
            time=when(p.shipped_at),
        )
        for p in parcels
    ] or ["  -"]
    lines += ["", line(N_("Chat excerpts and notes:"))]
    for item in items:
        if item.kind is not EvidenceKind.PHOTO:
            kind = label_for("evidence_kind", item.kind)
            lines += [f"  [{when(item.added_at)}] {kind}:", f"  {item.text}", ""]
    lines += ["", line(N_("History:"))]
    lines += [f"  {when(e.at)} {label_for('event', e.action)}" for e in events]
    return lines


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

    store = await Store.get(id=refund.store_id)
    with i18n.speaking(buyer_locale(store.platform, buyer_language(store))):
        lines = _summary(refund, order, parcels, items, events, zone)
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
