"""HTTP routes of the goals service."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals import service, views
from services.goals.actuals import publish_account_months, record_sales, sales_cells, totals_by_account_month
from services.goals.config import GoalsSettings
from services.goals.importer import batch_view, detect_encoding, header_index, run_import, start_batch
from services.goals.models import ActionItem, ImportBatch, ImportRejection, Target, idempotency_keys, platform
from services.goals.periods import add_months
from services.goals.schemas import (
    ActionItemCreate,
    ActionItemRead,
    ActionItemUpdate,
    ActualsIn,
    ActualsRecordedRead,
    ImportRead,
    MonthTotals,
    RejectionRead,
    RollupRead,
    ScorecardRead,
    SplitRequest,
    TargetBatch,
    TargetCreate,
    TargetRead,
    TargetUpdate,
    TeamTargetRow,
    TrackingRead,
    VarianceRead,
)
from services.goals.tracking import calendar_of, evaluate_accounts, red_alert_accounts, track_many
from shared.api import Page, PageParams, check_if_match, idempotent_replay, page_params, remember_idempotent, set_etag
from shared.auth import CurrentPrincipal, Principal, ensure_account_access, require_writer, visible_accounts_clause
from shared.errors import PROBLEM_RESPONSES, DomainError, Forbidden, NotFound, Unprocessable
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
_BATCH_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,100}$")


class ContentTooLarge(DomainError):
    """The upload is larger than the service accepts."""

    status, code = 413, "content-too-large"


def _settings(request: Request) -> GoalsSettings:
    settings: GoalsSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[GoalsSettings, Depends(_settings)]
PageDep = Annotated[PageParams, Depends(page_params)]


async def _read_targets(
    session: AsyncSession, targets: list[Target], *, settings: GoalsSettings, today: date
) -> list[TargetRead]:
    tracked = await track_many(session, targets, settings=settings, today=today)
    red = await red_alert_accounts(session, [t.account_id for t in targets if t.account_id])
    completion: dict[str, list[str]] = {}
    if targets:
        for target_id, status in await session.execute(
            select(ActionItem.target_id, ActionItem.status).where(ActionItem.target_id.in_([t.id for t in targets]))
        ):
            completion.setdefault(target_id, []).append(status)
    out = []
    for t in targets:
        data = {c: getattr(t, c) for c in Target.__table__.columns.keys()}
        data["achieved"] = t.achieved_at is not None
        data["red_alert"] = t.account_id in red
        data["tracking"] = TrackingRead(**tracked[t.id].__dict__)
        data["action_completion_pct"] = service.completion_pct(completion.get(t.id, []))
        out.append(TargetRead.model_validate(data))
    return out


async def _read_target(session: AsyncSession, target: Target, settings: GoalsSettings, today: date) -> TargetRead:
    return (await _read_targets(session, [target], settings=settings, today=today))[0]


# ---------------------------------------------------------------- targets


@router.post("/goals/targets", status_code=201, summary="Set a target (draft) for an account or a team")
async def create_target(
    data: TargetCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> TargetRead:
    """Create a draft target; send ``Idempotency-Key`` to make retries safe."""
    payload = data.model_dump(mode="json")
    replay = await idempotent_replay(
        session, idempotency_keys, request=request, principal_id=principal.user_id, payload=payload
    )
    if replay is not None:
        response.status_code = replay[0]
        return TargetRead.model_validate(replay[1])
    target = await service.create_target(session, data=data, principal=principal, settings=settings, now=clock.now())
    body = await _read_target(session, target, settings, clock.now().date())
    await remember_idempotent(
        session,
        idempotency_keys,
        request=request,
        principal_id=principal.user_id,
        payload=payload,
        status=201,
        body=body.model_dump(mode="json"),
    )
    set_etag(response, target.version)
    return body


@router.post("/goals/targets/batch", status_code=201, summary="Set several targets at once (optionally approved)")
async def create_targets(
    data: TargetBatch,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> list[TargetRead]:
    """All or nothing, in one transaction; ``approve=true`` (supervisor or admin) approves them too."""
    targets = await service.create_targets(
        session, items=data.targets, approve=data.approve, principal=principal, settings=settings, now=clock.now()
    )
    return await _read_targets(session, targets, settings=settings, today=clock.now().date())


@router.get("/goals/targets", summary="List targets (filtered; account managers see their accounts only)")
async def list_targets(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
    page: PageDep,
    account_id: str | None = None,
    owner_id: str | None = None,
    period: str | None = None,
    metric: str | None = None,
    status: Literal["draft", "approved"] | None = None,
    scope: Literal["account", "team"] | None = None,
    at_risk: bool | None = None,
    top_level: bool = Query(default=False, description="only targets that are not parts of a split"),
) -> Page[TargetRead]:
    """Targets visible to the caller, newest period first."""
    query = select(Target)
    if not principal.sees_whole_portfolio:
        query = query.where(
            (visible_accounts_clause(platform, principal, Target.account_id) & Target.account_id.is_not(None))
            | ((Target.scope == "team") & (Target.owner_id == principal.user_id))
        )
    for column, value in (
        (Target.account_id, account_id),
        (Target.owner_id, owner_id),
        (Target.period, period),
        (Target.metric, metric),
        (Target.status, status),
        (Target.scope, scope),
        (Target.at_risk, at_risk),
    ):
        if value is not None:
            query = query.where(column == value)
    if top_level:
        query = query.where(Target.parent_id.is_(None))
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    targets = list(
        await session.scalars(
            query.order_by(Target.period.desc(), Target.metric, Target.id).limit(page.limit).offset(page.offset)
        )
    )
    items = await _read_targets(session, targets, settings=settings, today=clock.now().date())
    return Page(items=items, total=int(total or 0), limit=page.limit, offset=page.offset)


@router.get("/goals/targets/{target_id}", summary="A target with attainment, forecast and gap")
async def get_target(
    target_id: str,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> TargetRead:
    """One target; its ETag is its version."""
    target = await service.get_target(session, target_id=target_id, principal=principal)
    set_etag(response, target.version)
    return await _read_target(session, target, settings, clock.now().date())


@router.patch("/goals/targets/{target_id}", summary="Change a target (If-Match)")
async def update_target(
    target_id: str,
    data: TargetUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> TargetRead:
    """Change values; a part of a split must keep the parts adding up (422 naming the gap)."""
    target = await service.get_target(session, target_id=target_id, principal=principal, write=True)
    check_if_match(request, target.version)
    if (
        target.status == "approved"
        and "target_value" in data.model_fields_set
        and not principal.has_any(service.APPROVER_ROLES)
    ):
        raise Forbidden("only a supervisor or an admin changes an approved target's value")
    target = await service.update_target(session, target=target, data=data, settings=settings, now=clock.now())
    set_etag(response, target.version)
    return await _read_target(session, target, settings, clock.now().date())


@router.post("/goals/targets/{target_id}/approve", summary="Approve a draft target and its parts")
async def approve_target(
    target_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> TargetRead:
    """draft → approved (supervisor or admin); publishes ``goals.target_set``."""
    target = await service.get_target(session, target_id=target_id, principal=principal, write=True)
    check_if_match(request, target.version)
    target = await service.approve_target(
        session, target=target, principal=principal, settings=settings, now=clock.now()
    )
    set_etag(response, target.version)
    return await _read_target(session, target, settings, clock.now().date())


@router.post(
    "/goals/targets/{target_id}/split", status_code=201, summary="Split a target over sub-periods or product lines"
)
async def split_target(
    target_id: str,
    data: SplitRequest,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
) -> list[TargetRead]:
    """Even, seasonal (weights or template) or manual; parts that do not add up get a 422 naming the gap."""
    target = await service.get_target(session, target_id=target_id, principal=principal, write=True)
    children = await service.split_target(
        session, target=target, request=data, principal=principal, settings=settings, now=clock.now()
    )
    return await _read_targets(session, children, settings=settings, today=clock.now().date())


@router.get("/goals/targets/{target_id}/rollup", summary="A target and the sum of its parts")
async def rollup(
    target_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, settings: SettingsDep
) -> RollupRead:
    """Whether the parts add up to the target."""
    target = await service.get_target(session, target_id=target_id, principal=principal)
    children = list(
        await session.scalars(
            select(Target).where(Target.parent_id == target.id).order_by(Target.period, Target.product_line)
        )
    )
    total = sum((c.target_value for c in children), Decimal(0))
    return RollupRead(
        target_id=target.id,
        target_value=target.target_value,
        children_sum=total,
        consistent=not children or total == target.target_value,
        children=await _read_targets(session, children, settings=settings, today=clock.now().date()),
    )


@router.get("/goals/targets/{target_id}/variance", summary="Why the figure moved: by product line, month, region")
async def variance(
    target_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
    compare: Literal["target", "previous_period", "previous_year"] = "previous_year",
) -> VarianceRead:
    """Variance against the target, the previous period or the same period last year, with price/volume effect."""
    target = await service.get_target(session, target_id=target_id, principal=principal)
    result = await views.variance(
        session, target=target, compare_to=compare, settings=settings, today=clock.now().date()
    )
    return VarianceRead.model_validate(
        {
            **result,
            **{k: [r.__dict__ for r in result[k]] for k in ("by_product_line", "by_month", "by_region")},
        }
    )


@router.get("/goals/team-targets", summary="Team targets per account manager: explicit or rolled up")
async def team_targets(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    period: str,
    owner_id: str | None = None,
) -> list[TeamTargetRow]:
    """An account manager's targets per metric (account managers: their own)."""
    if not principal.sees_whole_portfolio:
        owner_id = principal.user_id
    if owner_id is None:
        owners = sorted(
            o
            for o in await session.scalars(
                select(platform.accounts.c.owner_id).where(platform.accounts.c.owner_id.is_not(None)).distinct()
            )
            if o
        )
    else:
        owners = [owner_id]
    rows: list[dict[str, Any]] = []
    for owner in owners:
        rows += await service.team_targets(session, owner_id=owner, period=period, settings=settings)
    return [TeamTargetRow.model_validate(r) for r in rows]


# ---------------------------------------------------------------- action plans


def _read_item(item: ActionItem, today: date) -> ActionItemRead:
    data = {c: getattr(item, c) for c in ActionItem.__table__.columns.keys()}
    data["overdue"] = service.is_overdue(item, today)
    return ActionItemRead.model_validate(data)


@router.post("/goals/targets/{target_id}/actions", status_code=201, summary="Add an action item to a target")
async def create_action_item(
    target_id: str, data: ActionItemCreate, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> ActionItemRead:
    """A step with owner, due date, expected impact and linked metric."""
    target = await service.get_target(session, target_id=target_id, principal=principal, write=True)
    item = await service.create_action_item(session, target=target, data=data, now=clock.now())
    return _read_item(item, clock.now().date())


@router.get("/goals/targets/{target_id}/actions", summary="A target's action plan")
async def list_target_actions(
    target_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep
) -> list[ActionItemRead]:
    """The action items under a target, by due date."""
    await service.get_target(session, target_id=target_id, principal=principal)
    items = await session.scalars(
        select(ActionItem).where(ActionItem.target_id == target_id).order_by(ActionItem.due_date, ActionItem.id)
    )
    return [_read_item(i, clock.now().date()) for i in items]


@router.get("/goals/actions", summary="Action items (filter overdue, status, owner, account)")
async def list_actions(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: PageDep,
    overdue: bool | None = None,
    status: Literal["open", "in_progress", "done", "cancelled"] | None = None,
    owner_id: str | None = None,
    account_id: str | None = None,
) -> Page[ActionItemRead]:
    """Action items visible to the caller; ``overdue=true`` lists open items past their due date."""
    today = clock.now().date()
    query = select(ActionItem).where(visible_accounts_clause(platform, principal, ActionItem.account_id))
    if overdue is True:
        query = query.where(ActionItem.status.in_(("open", "in_progress")), ActionItem.due_date < today)
    if status is not None:
        query = query.where(ActionItem.status == status)
    if owner_id is not None:
        query = query.where(ActionItem.owner_id == owner_id)
    if account_id is not None:
        query = query.where(ActionItem.account_id == account_id)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    items = await session.scalars(
        query.order_by(ActionItem.due_date, ActionItem.id).limit(page.limit).offset(page.offset)
    )
    return Page(
        items=[_read_item(i, today) for i in items], total=int(total or 0), limit=page.limit, offset=page.offset
    )


@router.patch("/goals/actions/{action_id}", summary="Change an action item (status, owner, due date)")
async def update_action_item(
    action_id: str,
    data: ActionItemUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ActionItemRead:
    """Update an action item; status changes follow open → in_progress → done (or cancelled)."""
    item = await session.get(ActionItem, action_id)
    if item is None:
        raise NotFound(f"Action item {action_id} not found")
    await service.get_target(session, target_id=item.target_id, principal=principal, write=True)
    check_if_match(request, item.version)
    item = await service.update_action_item(session, item=item, data=data, now=clock.now())
    set_etag(response, item.version)
    return _read_item(item, clock.now().date())


# ---------------------------------------------------------------- actuals


def _month_totals(entry: dict[str, Any]) -> MonthTotals:
    return MonthTotals.model_validate(entry)


@router.post("/goals/actuals", status_code=201, summary="Record sales lines (published per account-month)")
async def record_actuals(
    data: ActualsIn, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, settings: SettingsDep
) -> ActualsRecordedRead:
    """Record up to 1000 sales lines; publishes ``goals.actuals_recorded`` once per account-month touched."""
    require_writer(principal)
    for account_id in sorted({r.account_id for r in data.records}):
        await ensure_account_access(session, platform, principal, account_id, write=True)
    pairs = await record_sales(session, records=data.records)
    published = await publish_account_months(session, pairs=pairs)
    await evaluate_accounts(session, account_ids={a for a, _ in pairs}, settings=settings, now=clock.now())
    return ActualsRecordedRead(recorded=len(data.records), account_months=[_month_totals(p) for p in published])


@router.get("/goals/accounts/{account_id}/actuals", summary="An account's monthly totals")
async def account_actuals(
    account_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    from_month: Annotated[str | None, Query(alias="from", pattern=r"^\d{4}-\d{2}$")] = None,
    to_month: Annotated[str | None, Query(alias="to", pattern=r"^\d{4}-\d{2}$")] = None,
) -> list[MonthTotals]:
    """Totals per month (default: the last 12 months)."""
    await ensure_account_access(session, platform, principal, account_id)
    today = clock.now().date()
    end = to_month or f"{today.year:04d}-{today.month:02d}"
    start = from_month or add_months(end, -11)
    if start > end:
        raise Unprocessable("from must not be after to", field="from")
    months: list[str] = []
    m = start
    while m <= end and len(months) < 240:
        months.append(m)
        m = add_months(m, 1)
    totals = totals_by_account_month(await sales_cells(session, account_ids=[account_id], months=months))
    return [_month_totals({"account_id": a, "period": month, **entry}) for (a, month), entry in sorted(totals.items())]


# ---------------------------------------------------------------- CSV import


def _spool_path(settings: GoalsSettings) -> Path:
    spool = Path(settings.import_spool_dir)
    spool.mkdir(parents=True, exist_ok=True)
    return spool / f"{uuid.uuid4().hex}.csv"


def _check_header(path: Path, encoding: str) -> None:
    with path.open("r", encoding=encoding, errors="replace", newline="") as f:
        first = f.readline()
    header = next(csv.reader(io.StringIO(first)), None)
    if not header:
        raise Unprocessable("the CSV file is empty", field="file")
    header_index(header)


async def _batch_read(session: AsyncSession, batch_id: str, principal: Principal) -> ImportBatch:
    batch = await session.get(ImportBatch, batch_id)
    if batch is None or (not principal.sees_whole_portfolio and batch.created_by != principal.user_id):
        raise NotFound(f"Import {batch_id} not found")
    return batch


@router.post(
    "/goals/imports",
    status_code=202,
    summary="Import sales lines from a CSV body (streamed; UTF-8 with or without BOM, or GBK)",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}}},
)
async def import_csv(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
    batch_id: Annotated[str, Query(description="idempotency: re-importing a completed batch adds nothing")],
    filename: str | None = None,
    encoding: Literal["auto", "utf-8", "utf-8-sig", "gbk", "gb18030"] = "auto",
    wait: bool = Query(default=False, description="answer when the import is done instead of at once"),
    restart: bool = Query(default=False, description="run a batch again that was interrupted while running"),
) -> ImportRead:
    """Start an import job (202) whose progress is at ``GET /goals/imports/{batch_id}``; 200 for a done batch."""
    require_writer(principal)
    if not _BATCH_ID.match(batch_id):
        raise Unprocessable("batch_id: 1-100 letters, digits, . _ : -", field="batch_id")
    db = request.app.state.db
    async with db.transaction() as session:
        existing = await session.get(ImportBatch, batch_id)
        if existing is not None and existing.status == "completed":
            response.status_code = 200
            return ImportRead.model_validate(batch_view(existing))
    path = await asyncio.to_thread(_spool_path, settings)
    size = 0
    try:
        out = await asyncio.to_thread(path.open, "wb")
        with out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.import_max_bytes:
                    raise ContentTooLarge(f"the upload is larger than {settings.import_max_bytes} bytes")
                out.write(chunk)
        enc = None if encoding == "auto" else ("gb18030" if encoding == "gbk" else encoding)
        _check_header(path, enc or detect_encoding(path))
        async with db.transaction() as session:
            batch, fresh = await start_batch(
                session,
                batch_id=batch_id,
                filename=filename,
                created_by=principal.user_id,
                now=clock.now(),
                restart=restart,
            )
            view = batch_view(batch)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not fresh:
        path.unlink(missing_ok=True)
        response.status_code = 200
        return ImportRead.model_validate(view)

    async def job() -> dict[str, Any]:
        try:
            return await run_import(
                db,
                batch_id=batch_id,
                path=path,
                settings=settings,
                clock=request.app.state.clock,
                visible_to=None if principal.sees_whole_portfolio else principal.user_id,
                encoding=enc,
            )
        finally:
            path.unlink(missing_ok=True)

    if wait:
        result = await job()
        response.status_code = 200
        return ImportRead.model_validate(result)
    tasks: set[asyncio.Task[Any]] = request.app.state.__dict__.setdefault("import_tasks", set())
    task = asyncio.create_task(job(), name=f"import-{batch_id}")
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    response.headers["Location"] = f"/goals/imports/{batch_id}"
    return ImportRead.model_validate(view)


@router.get("/goals/imports/{batch_id}", summary="An import job's progress and outcome")
async def get_import(batch_id: str, session: SessionDep, principal: CurrentPrincipal) -> ImportRead:
    """Rows done of total, accepted and rejected so far, status."""
    return ImportRead.model_validate(batch_view(await _batch_read(session, batch_id, principal)))


@router.get("/goals/imports/{batch_id}/rejections", summary="Rows an import refused, with line number and reason")
async def import_rejections(
    batch_id: str, session: SessionDep, principal: CurrentPrincipal, page: PageDep
) -> Page[RejectionRead]:
    """Every rejected row, in file order."""
    await _batch_read(session, batch_id, principal)
    total = await session.scalar(
        select(func.count()).select_from(ImportRejection).where(ImportRejection.batch_id == batch_id)
    )
    rows = await session.scalars(
        select(ImportRejection)
        .where(ImportRejection.batch_id == batch_id)
        .order_by(ImportRejection.line_no)
        .limit(page.limit)
        .offset(page.offset)
    )
    return Page(
        items=[RejectionRead(line_no=r.line_no, reason=r.reason, raw=r.raw) for r in rows],
        total=int(total or 0),
        limit=page.limit,
        offset=page.offset,
    )


# ---------------------------------------------------------------- scorecards and views


@router.get("/goals/scorecards", summary="Team scorecards (绩效考核) per account manager")
async def scorecards(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    settings: SettingsDep,
    period: str | None = None,
    owner_id: str | None = None,
) -> list[ScorecardRead]:
    """KPI score with its breakdown (account managers: their own)."""
    text = period or calendar_of(settings).current(clock.now().date(), "year").text
    rows = await views.scorecards(session, period_text=text, principal=principal, settings=settings, owner_id=owner_id)
    return [ScorecardRead.model_validate(r) for r in rows]


@router.get("/goals/views/accounts/{account_id}", summary="This service's section of the account overview")
async def account_view(
    account_id: str, session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """The goals section of the account 360 (composed by the gateway); shape in docs/goals.md."""
    account = await ensure_account_access(session, platform, principal, account_id)
    return await views.account_section(session, account=account, settings=settings, today=clock.now().date())


@router.get("/goals/views/portfolio", summary="This service's section of the portfolio board")
async def portfolio_view(
    session: SessionDep, principal: CurrentPrincipal, clock: ClockDep, settings: SettingsDep
) -> dict[str, Any]:
    """The goals section of the supervisor's board (composed by the gateway); shape in docs/goals.md."""
    return await views.portfolio_section(session, principal=principal, settings=settings, today=clock.now().date())


__all__ = ["JSONResponse", "router"]
