"""Photos people upload (refund evidence, inspection pictures): checked, then kept on disk.

Files live under the data dir, never in the database, and are served only to
signed-in users. The type is read from the first bytes, not from the name or
the browser's word, so a renamed script is refused.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import FileResponse

from aftersales.core.errors import InvalidInput
from aftersales.core.i18n import N_

MAX_PHOTO_BYTES = 5 * 1024 * 1024
# Buyers' photos are personal data: only the desk's own user may read them.
FOLDER_MODE = 0o700
FILE_MODE = 0o600
IMAGE_SIGNATURES = {
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
    b"GIF87a": ("image/gif", ".gif"),
    b"GIF89a": ("image/gif", ".gif"),
}


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes


@dataclass(frozen=True)
class StoredPhoto:
    stored_as: str
    content_type: str
    file_name: str
    size: int


INLINE_TYPES = frozenset({*(kind for kind, _ in IMAGE_SIGNATURES.values()), "image/webp"})


def photo_response(path: Path, content_type: str) -> FileResponse:
    """Serve a kept upload: shown inline when it is a known image, else downloaded.

    The file name sent is the stored one (a random hex name), never the
    uploader's, so no header injection or odd name reaches the browser; the
    desk-wide ``nosniff`` keeps the browser from guessing another type.
    """
    inline = content_type in INLINE_TYPES
    return FileResponse(
        path,
        media_type=content_type if inline else "application/octet-stream",
        filename=path.name,
        content_disposition_type="inline" if inline else "attachment",
        headers={"Cache-Control": "private"},
    )


def image_type(data: bytes) -> tuple[str, str] | None:
    for signature, kind in IMAGE_SIGNATURES.items():
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", ".webp"
    return None


def extension_for(content_type: str) -> str:
    """Our extension for a type ``image_type`` detected, ``.bin`` for anything else."""
    known = {kind: ext for kind, ext in IMAGE_SIGNATURES.values()} | {"image/webp": ".webp"}
    return known.get(content_type, ".bin")


def check_photo(upload: Upload | None) -> tuple[str, str]:
    """``(content type, extension)`` of an acceptable photo; anything else raises."""
    if upload is None or not upload.data:
        raise InvalidInput(N_("Choose a photo to upload."), code="photo_missing")
    if len(upload.data) > MAX_PHOTO_BYTES:
        raise InvalidInput(
            N_("A photo may be at most %(max)s MB."),
            max=MAX_PHOTO_BYTES // (1024 * 1024),
            size=len(upload.data),
            code="photo_too_large",
        )
    found = image_type(upload.data)
    if found is None:
        raise InvalidInput(N_("Only JPEG, PNG, GIF or WebP photos are kept."), code="photo_type")
    return found


def make_private_dirs(folder: Path) -> None:
    """``mkdir -p`` where every folder we create is 0700, whatever the umask."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=FOLDER_MODE)
        except FileExistsError:  # another request made it first
            continue
        os.chmod(path, FOLDER_MODE)  # mkdir's mode is cut by the umask, never widened


def save_photo(folder: Path, upload: Upload) -> StoredPhoto:
    """Check and write one photo under ``folder`` with a name nobody can guess."""
    content_type, extension = check_photo(upload)
    make_private_dirs(folder)
    stored = f"{uuid.uuid4().hex}{extension}"
    # The mode is given at creation, so the file is never readable by others, not even briefly.
    fd = os.open(folder / stored, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as handle:
        handle.write(upload.data)
    return StoredPhoto(
        stored_as=stored,
        content_type=content_type,
        file_name=Path(upload.name).name[:255] or stored,
        size=len(upload.data),
    )
