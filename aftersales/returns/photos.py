"""Inspection photos: what the warehouse saw when it opened the parcel.

Kept with the case and never edited, like refund evidence, and for the same
reason: if the buyer disputes the inspection, the photo is what the platform's
arbitrator looks at.
"""

from __future__ import annotations

from pathlib import Path

from tortoise.transactions import in_transaction

from aftersales.core import audit, clock
from aftersales.core.errors import InvalidInput, NotFound
from aftersales.core.i18n import N_
from aftersales.core.models import User
from aftersales.core.photos import Upload, save_photo
from aftersales.returns.models import ReturnAttachment, ReturnCase, ReturnLine


def photo_dir(data_dir: Path, case_id: int) -> Path:
    return data_dir / "returns" / str(case_id)


async def attach(
    case_id: int, *, line_id: int | None, upload: Upload, actor: User, data_dir: Path
) -> ReturnAttachment:
    case = await ReturnCase.get_or_none(id=case_id)
    if case is None:
        raise NotFound(N_("No return case with id %(id)s."), id=case_id)
    if line_id is not None and not await ReturnLine.exists(id=line_id, case_id=case_id):
        raise InvalidInput(N_("That line is not on this case."), obj=case, line_id=line_id)
    photo = save_photo(photo_dir(data_dir, case_id), upload)
    async with in_transaction() as conn:
        item = await ReturnAttachment.create(
            case_id=case_id,
            line_id=line_id,
            file_name=photo.file_name,
            stored_as=photo.stored_as,
            content_type=photo.content_type,
            size=photo.size,
            added_by=actor,
            added_at=clock.now(),
            using_db=conn,
        )
        await audit.record(
            "return.photo_added",
            subject_type="return_case",
            subject_id=case_id,
            actor=actor,
            data={"file": photo.file_name, "line_id": line_id},
            using_db=conn,
        )
    return item


async def photo_file(case_id: int, attachment_id: int, data_dir: Path) -> tuple[Path, str]:
    item = await ReturnAttachment.get_or_none(id=attachment_id, case_id=case_id)
    if item is None:
        raise NotFound(N_("No such photo."), id=attachment_id)
    return photo_dir(data_dir, case_id) / item.stored_as, item.content_type
