"""Files uploaded to a complaint: size-limited, the media type from an allow-list (and the content matching it for
the kinds with a signature), kept in the database, listed and downloaded with the complaint's access checks."""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.intake.models import AttachmentFile, Complaint
from services.complaints.intake.timeline import record, touch
from services.complaints.models import new_id
from services.complaints.rules import Rules
from shared.auth import Principal
from shared.errors import ContentTooLarge, NotFound, Unprocessable, UnsupportedMediaType

# What the first bytes of a file of these types are (a file declared as one must start so).
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


def media_type(declared: str | None) -> str:
    """The declared media type without parameters, lower case."""
    return (declared or "").split(";", 1)[0].strip().lower()


def safe_filename(name: str | None) -> str:
    """The file's own name (no directories, no control characters), at most 300 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    if not cleaned or cleaned in (".", ".."):
        raise Unprocessable("file: the upload has no file name", field="file")
    return cleaned[:300]


def check_upload(*, data: bytes, content_type: str, rules: Rules) -> None:
    """Refuse an empty file (422), one over the size limit (413), a type off the allow-list or content that does
    not match its declared type (415)."""
    if not data:
        raise Unprocessable("file: the file is empty", field="file")
    if len(data) > rules.attachment_max_bytes:
        raise ContentTooLarge(f"The file is over {rules.attachment_max_bytes} bytes")
    if content_type not in rules.attachment_types:
        allowed = ", ".join(sorted(rules.attachment_types))
        raise UnsupportedMediaType(f"Files of type {content_type or 'unknown'!r} are not taken; allowed: {allowed}")
    signatures = SIGNATURES.get(content_type)
    if signatures is not None and not data.startswith(signatures):
        raise UnsupportedMediaType(f"The file's content is not {content_type}")


async def add_attachment(
    session: AsyncSession,
    *,
    complaint: Complaint,
    filename: str | None,
    declared_type: str | None,
    data: bytes,
    actor: Principal,
    now: datetime,
    rules: Rules,
) -> AttachmentFile:
    """Store an uploaded file on the complaint (timeline ``attachment_added``)."""
    content_type = media_type(declared_type)
    check_upload(data=data, content_type=content_type, rules=rules)
    row = AttachmentFile(
        id=new_id(),
        complaint_id=complaint.id,
        filename=safe_filename(filename),
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content=data,
        uploaded_by=actor.user_id,
        uploaded_at=now,
    )
    session.add(row)
    info = {"attachment_id": row.id, "filename": row.filename, "content_type": content_type, "size": len(data)}
    record(session, complaint, at=now, actor_id=actor.user_id, kind="attachment_added", data=info)
    touch(complaint, now)
    await session.flush()
    return row


async def attachments_of(session: AsyncSession, *, complaint_id: str) -> Sequence[AttachmentFile]:
    """The complaint's uploaded files (metadata), oldest first."""
    query = (
        select(AttachmentFile)
        .where(AttachmentFile.complaint_id == complaint_id)
        .order_by(AttachmentFile.uploaded_at, AttachmentFile.id)
    )
    return (await session.execute(query)).scalars().all()


async def attachment_of(session: AsyncSession, *, complaint_id: str, attachment_id: str) -> AttachmentFile:
    """One uploaded file of the complaint (404 for another complaint's)."""
    row = await session.get(AttachmentFile, attachment_id)
    if row is None or row.complaint_id != complaint_id:
        raise NotFound(f"Attachment {attachment_id} not found")
    return row
