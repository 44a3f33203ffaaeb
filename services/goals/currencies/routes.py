"""HTTP routes of the currencies: an account's reporting currency, and the FX rates goals converts with."""

from __future__ import annotations

from fastapi import APIRouter

from services.goals.currencies import service
from services.goals.currencies.schemas import FxRateRead, ReportingCurrencyRead, ReportingCurrencySet
from services.goals.deps import AccountForRead, AccountForUpdate, Actor, PageDep, SettingsDep
from shared.api import Page
from shared.errors import PROBLEM_RESPONSES
from shared.money import CurrencyCode
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)


@router.get("/goals/accounts/{account_id}/reporting-currency", summary="The currency an account's figures are in")
async def get_reporting_currency(
    account: AccountForRead, session: SessionDep, settings: SettingsDep
) -> ReportingCurrencyRead:
    """The account's own reporting currency, or the goals setting ``reporting_currency`` (``source``)."""
    return await service.reporting_currency_read(session, account_id=account["account_id"], settings=settings)


@router.put("/goals/accounts/{account_id}/reporting-currency", summary="Set an account's reporting currency")
async def put_reporting_currency(
    account: AccountForUpdate,
    body: ReportingCurrencySet,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
) -> ReportingCurrencyRead:
    """Supervisor or admin; only while the account has no targets or sales lines (409 otherwise)."""
    return await service.set_reporting_currency(
        session, account_id=account["account_id"], body=body, actor=actor, settings=settings, now=clock.now()
    )


@router.get("/goals/fx-rates", summary="The FX rates goals converts with (from risk.fx_rate_set)")
async def list_fx_rates(
    session: SessionDep,
    actor: Actor,
    page: PageDep,
    currency: CurrencyCode | None = None,
    base_currency: CurrencyCode | None = None,
) -> Page[FxRateRead]:
    """Dated rates, newest first: 1 ``currency`` = ``rate`` ``base_currency`` from ``valid_on``."""
    rows, total = await service.list_rates(session, currency=currency, base_currency=base_currency, page=page)
    items = [FxRateRead.model_validate(r, from_attributes=True) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)
