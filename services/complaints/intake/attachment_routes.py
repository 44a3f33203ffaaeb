"""HTTP routes of uploaded attachments: upload (multipart), list, download — with the complaint's access checks."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Response, UploadFile

from services.complaints.deps import (
    UUID_PATTERN,
    ComplaintForRead,
    ComplaintForWrite,
    RulesDep,
    Writer,
)
from services.complaints.intake import attachments
from services.complaints.intake.schemas import AttachmentFileRead
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)
AttachmentId = Annotated[str, Path(pattern=UUID_PATTERN, description="Attachment id (UUID)")]


@router.post("/complaints/{complaint_id}/attachments", status_code=201, summary="Upload a file to a complaint")
async def upload_attachment(
    complaint: ComplaintForWrite,
    file: Annotated[UploadFile, File(description="The file (multipart/form-data); its part's Content-Type counts")],
    session: SessionDep,
    actor: Writer,
    clock: ClockDep,
    rules: RulesDep,
) -> AttachmentFileRead:
    """At most ``ATTACHMENT_MAX_BYTES`` (413 over it), a type of ``ATTACHMENT_CONTENT_TYPES`` (415 otherwise)."""
    data = await file.read(rules.attachment_max_bytes + 1)
    row = await attachments.add_attachment(
        session,
        complaint=complaint,
        filename=file.filename,
        declared_type=file.content_type,
        data=data,
        actor=actor,
        now=clock.now(),
        rules=rules,
    )
    return AttachmentFileRead.model_validate(row)


@router.get("/complaints/{complaint_id}/attachments", summary="The files uploaded to a complaint")
async def list_attachments(complaint: ComplaintForRead, session: SessionDep) -> list[AttachmentFileRead]:
    """Metadata of every uploaded file, oldest first."""
    rows = await attachments.attachments_of(session, complaint_id=complaint.id)
    return [AttachmentFileRead.model_validate(r) for r in rows]


@router.get(
    "/complaints/{complaint_id}/attachments/{attachment_id}",
    summary="Download an uploaded file",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_attachment(
    complaint: ComplaintForRead, attachment_id: AttachmentId, session: SessionDep
) -> Response:
    """The file as uploaded (``Content-Disposition: attachment``, never rendered inline)."""
    row = await attachments.attachment_of(session, complaint_id=complaint.id, attachment_id=attachment_id)
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "ETag": f'"{row.sha256}"',
    }
    return Response(content=row.content, media_type=row.content_type, headers=headers)
