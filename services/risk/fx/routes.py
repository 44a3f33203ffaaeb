"""FX rate routes: list and look up rates, set one, import a batch (JSON or CSV), read the audit trail."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Path, Request, Response, UploadFile

from services.risk.deps import Actor, FxKeeper, Paging, Today
from services.risk.fx import service
from services.risk.fx.conversion import BASE_CURRENCY
from services.risk.fx.models import FxRate
from services.risk.fx.schemas import (
    FxImportResult,
    FxRateChangeRead,
    FxRateImport,
    FxRateInForce,
    FxRatePut,
    FxRateRead,
    FxRateRow,
)
from services.risk.paging import page_of
from shared.api import Page, check_if_match_upsert, set_etag
from shared.errors import PROBLEM_RESPONSES, ContentTooLarge, NotFound
from shared.money import CurrencyCode
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: fx rates"], responses=PROBLEM_RESPONSES)
MAX_CSV_BYTES = 1_000_000
CurrencyPath = Annotated[CurrencyCode, Path(description="ISO 4217 code, e.g. USD")]


@router.get("/risk/fx-rates", summary="FX rates against the base currency (filter by currency and dates)")
async def list_rates(
    session: SessionDep,
    actor: Actor,
    page: Paging,
    currency: CurrencyCode | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
) -> Page[FxRateRead]:
    """Rates by currency, newest date first; ``valid_from`` after ``valid_to`` is a 422."""
    rows, total = await service.list_rates(
        session, currency=currency, valid_from=valid_from, valid_to=valid_to, page=page
    )
    return Page[FxRateRead](**page_of([FxRateRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/fx-rates/changes", summary="The audit trail of FX rate changes (who set what, when)")
async def list_changes(
    session: SessionDep, actor: Actor, page: Paging, currency: CurrencyCode | None = None
) -> Page[FxRateChangeRead]:
    """Every rate set through the API or an import, newest first (read-only)."""
    rows, total = await service.list_changes(session, currency=currency, page=page)
    return Page[FxRateChangeRead](**page_of([FxRateChangeRead.model_validate(r) for r in rows], total, page))


@router.get("/risk/fx-rates/{currency}/in-force", summary="The rate used for a business date (latest on or before)")
async def rate_in_force(
    currency: CurrencyPath, session: SessionDep, actor: Actor, today: Today, on: date | None = None
) -> FxRateInForce:
    """The rate conversions on ``on`` (default: the business date today) use; 404 when there is none."""
    day = on or today
    found = await service.rate_in_force(session, currency=currency, on=day)
    if found is None:
        raise NotFound(f"No {currency} rate on or before {day}")
    return FxRateInForce(
        currency=currency, base_currency=BASE_CURRENCY, on=day, valid_on=found.valid_on, rate=found.rate
    )


@router.put("/risk/fx-rates/{currency}/{valid_on}", summary="Set the rate of a currency from a date on")
async def put_rate(
    currency: CurrencyPath,
    valid_on: date,
    body: FxRatePut,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: FxKeeper,
    publisher: PublisherDep,
    clock: ClockDep,
) -> FxRateRead:
    """1 unit of ``currency`` = ``rate`` units of the base currency from ``valid_on``; publishes risk.fx_rate_set.
    Changing a stored day's rate needs If-Match with its version."""
    existing = await session.get(FxRate, (BASE_CURRENCY, currency, valid_on))
    check_if_match_upsert(request, existing.version if existing is not None else None)
    row = FxRateRow(currency=currency, valid_on=valid_on, rate=body.rate)
    stored = await service.set_rate(session, row=row, actor=actor, publisher=publisher, now=clock.now())
    set_etag(response, stored.version)
    return FxRateRead.model_validate(stored)


@router.post("/risk/fx-rates/import", summary="Import a batch of FX rates (all or nothing)", status_code=201)
async def import_rates(
    body: FxRateImport, session: SessionDep, actor: FxKeeper, publisher: PublisherDep, clock: ClockDep
) -> FxImportResult:
    """Up to 1000 rates in one transaction; a bad or repeated row is a 422 naming ``rates.<n>``."""
    done, unchanged = await service.import_rates(
        session, rows=body.rates, source="import", actor=actor, publisher=publisher, now=clock.now()
    )
    return FxImportResult(set=done, unchanged=unchanged)


@router.post("/risk/fx-rates/import/csv", summary="Import FX rates from a CSV file (all or nothing)", status_code=201)
async def import_rates_csv(
    file: Annotated[UploadFile, File(description="UTF-8 CSV with the header currency,valid_on,rate")],
    session: SessionDep,
    actor: FxKeeper,
    publisher: PublisherDep,
    clock: ClockDep,
) -> FxImportResult:
    """Up to 5000 lines (1 MB); every bad value is a 422 naming ``rates.<n>.<column>`` and its line."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise ContentTooLarge(f"The CSV file is over {MAX_CSV_BYTES} bytes; split it")
    rows = service.parse_csv(data)
    done, unchanged = await service.import_rates(
        session, rows=rows, source="csv", actor=actor, publisher=publisher, now=clock.now()
    )
    return FxImportResult(set=done, unchanged=unchanged)
