"""CSV uploads: the streamed body is spooled (size-limited), its header checked, its batch claimed, and the
import run at once or in the background; import batches and their rejected rows are read back here too."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.importer import batch_view, detect_encoding, header_index, run_import, start_batch
from services.goals.actuals.models import ImportBatch, ImportRejection
from services.goals.actuals.schemas import BATCH_ID_PATTERN, ImportOptions
from services.goals.config import GoalsSettings
from shared.api import PageParams
from shared.auth import Principal, require_writer
from shared.bus import Publisher
from shared.clock import Clock
from shared.db import Database
from shared.errors import Conflict, ContentTooLarge, Unprocessable, UnsupportedMediaType

BATCH_ID = re.compile(BATCH_ID_PATTERN)
FORM_MEDIA_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded"})


@dataclass(frozen=True)
class UploadOutcome:
    """What an upload led to: the batch as the API shows it, 202 (running in the background) or 200 (done)."""

    batch: dict[str, Any]
    status_code: int
    location: str | None = None


def _spool_path(settings: GoalsSettings) -> Path:
    spool = Path(settings.import_spool_dir)
    spool.mkdir(parents=True, exist_ok=True)
    return spool / f"{uuid.uuid4().hex}.csv"


def _check_header(path: Path, encoding: str, columns: dict[str, str]) -> None:
    with path.open("r", encoding=encoding, errors="replace", newline="") as f:
        first = f.readline()
    header = next(csv.reader(io.StringIO(first)), None)
    if not header:
        raise Unprocessable("the CSV file is empty", field="file")
    header_index(header, columns)


async def _spool(chunks: AsyncIterator[bytes], path: Path, *, max_bytes: int) -> str:
    """Write the streamed body to ``path`` and return its SHA-256; refuse it (413) once it passes ``max_bytes``."""
    size = 0
    digest = hashlib.sha256()
    out = await asyncio.to_thread(path.open, "wb")
    with out:
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise ContentTooLarge(f"the upload is larger than {max_bytes} bytes")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def refuse_form_uploads(content_type: str | None) -> None:
    """A browser-style multipart form is not the CSV itself: say how to send the file."""
    if content_type and content_type.split(";")[0].strip().lower() in {
        "multipart/form-data",
        "application/x-www-form-urlencoded",
    }:
        raise UnsupportedMediaType(
            "send the CSV file itself as the request body with Content-Type: text/csv, not as a form field — e.g. "
            "curl -X POST '/api/v1/goals/imports?batch_id=2026-11' -H 'Content-Type: text/csv' --data-binary @sales.csv"
        )


async def _same_file_imported(session: AsyncSession, *, sha256: str, batch_id: str, actor: Principal) -> None:
    """Refuse a file already imported in full under another batch id (its lines would be counted twice)."""
    earlier = (
        await session.scalars(
            select(ImportBatch)
            .where(
                ImportBatch.content_sha256 == sha256,
                ImportBatch.status == "completed",
                ImportBatch.batch_id != batch_id,
            )
            .order_by(ImportBatch.created_at)
            .limit(1)
        )
    ).first()
    if earlier is None:
        return
    named = earlier.created_by == actor.user_id or actor.sees_whole_portfolio
    where = f" as batch {earlier.batch_id} on {earlier.created_at:%Y-%m-%d}" if named else " by another user"
    raise Conflict(
        f"this file was already imported{where}; importing it again would count its lines twice "
        "(allow_duplicate=true imports it anyway)",
        field="allow_duplicate",
    )


async def import_upload(
    db: Database,
    chunks: AsyncIterator[bytes],
    *,
    options: ImportOptions,
    actor: Principal,
    settings: GoalsSettings,
    clock: Clock,
    publisher: Publisher,
    background: set[asyncio.Task[Any]],
) -> UploadOutcome:
    """Import an uploaded CSV as batch ``options.batch_id`` (a completed batch again adds nothing: 200)."""
    batch_id, encoding = options.batch_id, options.encoding
    require_writer(actor)
    if not BATCH_ID.match(batch_id):
        raise Unprocessable("batch_id: 1-100 letters, digits, . _ : -", field="batch_id")
    async with db.transaction() as session:
        existing = await session.get(ImportBatch, batch_id)
        if existing is not None and existing.created_by != actor.user_id:
            # Batch ids are the user's own: another user's id never answers with their batch.
            raise Conflict(f"batch_id {batch_id} is already taken; choose another", field="batch_id")
        if existing is not None and existing.status == "completed":
            return UploadOutcome(batch_view(existing), 200)
    path = await asyncio.to_thread(_spool_path, settings)
    try:
        sha256 = await _spool(chunks, path, max_bytes=settings.import_max_bytes)
        enc = None if encoding == "auto" else ("gb18030" if encoding == "gbk" else encoding)
        _check_header(path, enc or detect_encoding(path), options.columns)
        async with db.transaction() as session:
            if not options.allow_duplicate:
                await _same_file_imported(session, sha256=sha256, batch_id=batch_id, actor=actor)
            batch, fresh = await start_batch(
                session,
                batch_id=batch_id,
                filename=options.filename,
                actor_id=actor.user_id,
                now=clock.now(),
                restart=options.restart,
                content_sha256=sha256,
            )
            view = batch_view(batch)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not fresh:
        path.unlink(missing_ok=True)
        return UploadOutcome(view, 200)

    async def job() -> dict[str, Any]:
        try:
            return await run_import(
                db,
                batch_id=batch_id,
                path=path,
                settings=settings,
                clock=clock,
                publisher=publisher,
                visible_to=None if actor.sees_whole_portfolio else actor.user_id,
                encoding=enc,
                columns=options.columns,
            )
        finally:
            path.unlink(missing_ok=True)

    if options.wait:
        return UploadOutcome(await job(), 200)
    task = asyncio.create_task(job(), name=f"import-{batch_id}")
    background.add(task)
    task.add_done_callback(background.discard)
    return UploadOutcome(view, 202, location=f"/goals/imports/{batch_id}")


async def list_rejections(
    session: AsyncSession, *, batch: ImportBatch, page: PageParams
) -> tuple[list[ImportRejection], int]:
    """A batch's rejected rows in file order, and how many there are."""
    total = await session.scalar(
        select(func.count()).select_from(ImportRejection).where(ImportRejection.batch_id == batch.batch_id)
    )
    rows = await session.scalars(
        select(ImportRejection)
        .where(ImportRejection.batch_id == batch.batch_id)
        .order_by(ImportRejection.line_no)
        .limit(page.limit)
        .offset(page.offset)
    )
    return list(rows), int(total or 0)
