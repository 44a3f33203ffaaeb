"""Contract documents: uploaded versions (size-limited, content type declared and sniffed), kept in the database."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from services.risk.contracts.models import Contract, ContractDocument, ContractReview
from shared.auth import Principal
from shared.errors import Conflict, ContentTooLarge, NotFound, Unprocessable, UnsupportedMediaType

# The largest document accepted (bytes).
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
# Accepted content types and how a file of that type begins (the declared type must match the bytes).
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCUMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    DOCX: (b"PK\x03\x04",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
}


def check_document(content: bytes, content_type: str | None) -> str:
    """The accepted content type of an upload (415 for another type or bytes that are not that type; 413 over
    the size limit; 422 for an empty file)."""
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ContentTooLarge(f"The document is over {MAX_DOCUMENT_BYTES} bytes")
    if not content:
        raise Unprocessable("file: the document is empty", field="file")
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in DOCUMENT_TYPES:
        raise UnsupportedMediaType(
            f"file: {declared or 'no content type'} is not accepted; send one of {', '.join(DOCUMENT_TYPES)}"
        )
    if not content.startswith(DOCUMENT_TYPES[declared]):
        raise UnsupportedMediaType(f"file: the bytes are not a {declared} document")
    return declared


async def upload_document(
    session: AsyncSession,
    *,
    contract: Contract,
    filename: str,
    content: bytes,
    content_type: str | None,
    actor: Principal,
    now: datetime,
) -> ContractDocument:
    """Keep a new version of the contract's document (1, 2, …) and note it in the review trail."""
    if contract.status == "terminated":
        raise Conflict("A terminated contract takes no new documents", current=contract.status)
    accepted = check_document(content, content_type)
    latest = await session.scalar(
        select(func.max(ContractDocument.version)).where(ContractDocument.contract_id == contract.id)
    )
    document = ContractDocument(
        contract_id=contract.id,
        version=(latest or 0) + 1,
        filename=(filename or "document")[-255:],
        content_type=accepted,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        uploaded_by=actor.user_id,
        uploaded_at=now,
    )
    session.add(document)
    session.add(
        ContractReview(
            contract_id=contract.id,
            from_status=contract.status,
            to_status=contract.status,
            reviewer_id=actor.user_id,
            note=f"v{document.version} {document.filename} ({document.size} bytes)",
            at=now,
            action="document",
        )
    )
    await session.flush()
    return document


async def documents_of(session: AsyncSession, *, contract_id: str) -> list[ContractDocument]:
    """The document versions of a contract, oldest first (without loading the bytes)."""
    rows = await session.execute(
        select(ContractDocument).where(ContractDocument.contract_id == contract_id).order_by(ContractDocument.version)
    )
    return list(rows.scalars())


async def document_version(session: AsyncSession, *, contract_id: str, version: int) -> ContractDocument:
    """One version of a contract's document (404 when there is none)."""
    document = await session.scalar(
        select(ContractDocument)
        .where(ContractDocument.contract_id == contract_id, ContractDocument.version == version)
        .options(undefer(ContractDocument.content))
    )
    if document is None:
        raise NotFound(f"The contract has no document version {version}")
    return document
