"""HTTP routes of the actuals: recording sales lines, monthly totals, CSV imports and their rejections."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.goals.actuals import service, uploads, voids
from services.goals.actuals.importer import batch_view
from services.goals.actuals.schemas import (
    BATCH_ID_PATTERN,
    ActualsIn,
    ActualsRecordedRead,
    ImportRead,
    MonthTotals,
    RejectionRead,
    SalesLineRead,
    SalesLinesVoidIn,
    UnknownProductLineRead,
    VoidIn,
    VoidRead,
)
from services.goals.deps import (
    AccountForRead,
    Actor,
    DatabaseDep,
    ImportBatchForRead,
    ImportOptionsDep,
    ImportTasksDep,
    PageDep,
    SettingsDep,
    TodayDep,
)
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.post("/goals/actuals", status_code=201, summary="Record sales lines (published per account-month)")
async def record_actuals(
    body: ActualsIn, session: SessionDep, actor: Actor, clock: ClockDep, settings: SettingsDep, publisher: PublisherDep
) -> ActualsRecordedRead:
    """Record up to 1000 sales lines; publishes ``goals.actuals_recorded`` once per account-month touched.

    A line in another currency than its account reports in is converted with the latest rate on or before its
    date (listed in ``converted`` with the rate used); without a rate it is a 422 naming the currency."""
    return await service.record_actuals(
        session, body=body, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )


@router.get(
    "/goals/actuals/unknown-product-lines", summary="Product lines in the sales that the catalogue does not know"
)
async def unknown_product_lines(
    session: SessionDep, actor: Actor, settings: SettingsDep
) -> list[UnknownProductLineRead]:
    """Lines recorded or imported under a product line missing from ``/goals/product-lines`` (kept, flagged): how
    many accounts and sales lines, which months, revenue per currency — of the accounts the caller may see."""
    return await service.unknown_product_lines(session, actor=actor, settings=settings)


@router.get("/goals/accounts/{account_id}/actuals", summary="An account's monthly totals")
async def account_actuals(
    account: AccountForRead,
    session: SessionDep,
    today: TodayDep,
    from_month: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}$")] = None,
    to_month: Annotated[str | None, Query(alias="to", pattern=r"^\d{4}-\d{2}$")] = None,
) -> list[MonthTotals]:
    """Totals per month (default: the last 12 months)."""
    return await service.account_month_totals(
        session, account_id=account["account_id"], from_month=from_month, to_month=to_month, today=today
    )


@router.post(
    "/goals/imports",
    status_code=202,
    summary="Import sales lines from a CSV body (streamed; UTF-8 with or without BOM, or GBK)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def import_csv(
    options: ImportOptionsDep,
    request: Request,
    response: Response,
    db: DatabaseDep,
    background: ImportTasksDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> ImportRead:
    """Start an import job (202) whose progress is at ``GET /goals/imports/{batch_id}``; 200 for a done batch.
    The CSV itself is the body (a form is a 415); the same file under another id or another user's id is a 409;
    ``restart=true`` waits for 2 minutes without progress; negative quantity and cost make a line a return."""
    uploads.refuse_form_uploads(request.headers.get("content-type"))
    outcome = await uploads.import_upload(
        db,
        request.stream(),
        options=options,
        actor=actor,
        settings=settings,
        clock=clock,
        publisher=publisher,
        background=background,
    )
    response.status_code = outcome.status_code
    if outcome.location is not None:
        response.headers["Location"] = outcome.location
    return ImportRead.model_validate(outcome.batch)


@router.get("/goals/imports/{batch_id}", summary="An import job's progress and outcome")
async def get_import(batch: ImportBatchForRead) -> ImportRead:
    """Rows done of total, accepted and rejected so far, status."""
    return ImportRead.model_validate(batch_view(batch))


@router.get("/goals/imports/{batch_id}/rejections", summary="Rows an import refused, with line number and reason")
async def import_rejections(batch: ImportBatchForRead, session: SessionDep, page: PageDep) -> Page[RejectionRead]:
    """Every rejected row, in file order."""
    rows, total = await uploads.list_rejections(session, batch=batch, page=page)
    items = [RejectionRead(line_no=r.line_no, reason=r.reason, raw=r.raw) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/goals/accounts/{account_id}/sales-lines", summary="An account's sales lines (to find ones to void)")
async def account_sales_lines(
    account: AccountForRead,
    session: SessionDep,
    page: PageDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    batch_id: Annotated[str | None, Query(max_length=100, pattern=BATCH_ID_PATTERN)] = None,
) -> Page[SalesLineRead]:
    """Newest sale first; filter by ``month`` (YYYY-MM) or the import ``batch_id`` that brought them."""
    rows, total = await voids.list_sales_lines(
        session, account_id=account["account_id"], month=month, batch_id=batch_id, page=page
    )
    items = [SalesLineRead.model_validate(r, from_attributes=True) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post("/goals/sales-lines/void", summary="Void sales lines (all or none; totals re-published)")
async def void_sales_lines(
    body: SalesLinesVoidIn,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> VoidRead:
    """Take the lines off; every account-month touched is published again as ``goals.actuals_voided`` with its new
    totals, so scoring and risk follow, and its targets are re-tracked. An unknown or invisible id is a 404."""
    voided, published = await voids.void_sales_lines(
        session,
        line_ids=body.line_ids,
        reason=body.reason,
        actor=actor,
        settings=settings,
        publisher=publisher,
        now=clock.now(),
    )
    return VoidRead(voided=voided, account_months=[MonthTotals.model_validate(p) for p in published])


@router.post("/goals/imports/{batch_id}/void", summary="Void a whole import (its lines taken off, totals re-published)")
async def void_import(
    batch: ImportBatchForRead,
    body: VoidIn,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> ImportRead:
    """A completed or failed import's lines are taken off (a running one is a 409); the batch keeps who voided it
    and why, and its id may be imported again with a corrected file."""
    voided, _ = await voids.void_batch(
        session, batch=batch, reason=body.reason, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    return ImportRead.model_validate(batch_view(voided))
