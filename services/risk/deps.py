"""Request dependencies of the risk service: the actor by role, paging, and the
objects a route works on, loaded and access-checked once (an account the caller may not see is a 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts.models import Contract
from services.risk.credit.exposure import ReceivablesPolicy
from services.risk.credit.models import CreditProfile, Invoice, LimitRequest, SalesOrder
from services.risk.credit.policy import CasePolicy, case_policy
from services.risk.models import platform
from services.risk.warnings.models import ActionItem, Alert
from shared.api import PageParams, page_params
from shared.auth import (
    RISK_OFFICER,
    SERVICE,
    SUPERVISOR,
    CurrentPrincipal,
    Principal,
    ensure_account_access,
    require_roles,
)
from shared.clock import business_date
from shared.errors import NotFound, Unprocessable
from shared.service import ClockDep, SessionDep

# ---------------------------------------------------------------- who acts

Actor = CurrentPrincipal
# Who manages credit (limits, assessments, receivables, releases); admin always passes require_roles.
CreditManager = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR))]
# Who feeds receivables and financial signals: credit managers and integrations (ERP, finance).
CreditFeeder = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR, SERVICE))]
# The checker of a limit request and the owner of industry policies and rule configuration.
RiskOfficer = Annotated[Principal, Depends(require_roles(RISK_OFFICER))]
# Who keeps the FX rates (set, import); admin always passes.
FxKeeper = Annotated[Principal, Depends(require_roles(RISK_OFFICER, SUPERVISOR))]
# Who decides a contract in legal review (approve or reject).
CONTRACT_DECIDERS = (RISK_OFFICER, SUPERVISOR)
Paging = Annotated[PageParams, Depends(page_params)]

# ---------------------------------------------------------------- ids and filters

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# The service's own ids are UUIDs; an account id comes from scoring (bounded, looked up in the projection).
ObjectId = Annotated[str, Path(pattern=UUID_PATTERN, description="A UUID")]
AccountIdPath = Annotated[str, Path(min_length=1, max_length=36)]
AccountIdFilter = Annotated[str | None, Query(min_length=1, max_length=36)]
UserIdFilter = Annotated[str | None, Query(min_length=1, max_length=100)]
CodeFilter = Annotated[str | None, Query(min_length=1, max_length=60)]


# ---------------------------------------------------------------- business dates


def today_of(app: FastAPI) -> date:
    """The business date now in the company's zone (``KAM_TIMEZONE``), by the app's clock."""
    return business_date(app.state.clock.now(), app.state.settings.zone)


async def business_today(request: Request, clock: ClockDep) -> date:
    """The business date today, for everything that is a date: aging, days past due, expiry, reminders, periods."""
    return business_date(clock.now(), request.app.state.settings.zone)


Today = Annotated[date, Depends(business_today)]


async def company_zone(request: Request) -> ZoneInfo:
    """The company's zone (``KAM_TIMEZONE``): the business date of an instant such as a plan step's due time."""
    zone: ZoneInfo = request.app.state.settings.zone
    return zone


Zone = Annotated[ZoneInfo, Depends(company_zone)]


async def credit_case_policy(request: Request) -> CasePolicy:
    """The credit case policy of the service's settings (thresholds, review intervals, suggested limits, rules)."""
    return case_policy(request.app.state.settings)


CreditCasePolicy = Annotated[CasePolicy, Depends(credit_case_policy)]


async def receivables_policy(request: Request) -> ReceivablesPolicy:
    """How far ahead invoice and payment dates may lie, and the dunning levels (``RiskSettings``)."""
    settings = request.app.state.settings
    return ReceivablesPolicy(settings.future_date_tolerance_days, tuple(settings.dunning_level_days))


Receivables = Annotated[ReceivablesPolicy, Depends(receivables_policy)]


# ---------------------------------------------------------------- accounts


async def account_for_read(account_id: AccountIdPath, session: SessionDep, actor: Actor) -> dict[str, Any]:
    """The account's projection row when the actor may see it (404 otherwise)."""
    return await ensure_account_access(session, platform, actor, account_id)


async def account_for_update(account_id: AccountIdPath, session: SessionDep, actor: Actor) -> dict[str, Any]:
    """The account's projection row when the actor may change its data (404 unseen, 403 read-only)."""
    return await ensure_account_access(session, platform, actor, account_id, write=True)


AccountForRead = Annotated[dict[str, Any], Depends(account_for_read)]
AccountForUpdate = Annotated[dict[str, Any], Depends(account_for_update)]


@dataclass(frozen=True)
class AccountProfile:
    """An account the actor may see and its credit profile (None until assessed or given a limit)."""

    account: dict[str, Any]
    profile: CreditProfile | None


async def profile_for_read(account: AccountForRead, session: SessionDep) -> AccountProfile:
    """The account and its credit profile."""
    return AccountProfile(account=account, profile=await session.get(CreditProfile, account["account_id"]))


ProfileForRead = Annotated[AccountProfile, Depends(profile_for_read)]


async def ensure_import_access(session: AsyncSession, actor: Principal, account_ids: list[str]) -> None:
    """Every row of a batch must name an account the actor may change; a bad row is a 422 naming it."""
    for index, account_id in enumerate(account_ids):
        try:
            await ensure_account_access(session, platform, actor, account_id, write=True)
        except NotFound as exc:
            raise Unprocessable(f"invoices[{index}]: {exc.detail}", field=f"invoices.{index}.account_id") from exc


# ---------------------------------------------------------------- objects of an account


class _OfAccount(Protocol):
    @property
    def account_id(self) -> str: ...


T = TypeVar("T", bound=_OfAccount)


async def _load(
    session: AsyncSession, actor: Principal, model: type[T], object_id: str, label: str, *, write: bool
) -> T:
    """``model`` row ``object_id`` when its account is visible to the actor (and writable if ``write``)."""
    found = await session.get(model, object_id)
    if found is None:
        raise NotFound(f"{label} {object_id} not found")
    try:
        await ensure_account_access(session, platform, actor, found.account_id, write=write)
    except NotFound as exc:  # the same answer as an unknown id: the account is not named
        raise NotFound(f"{label} {object_id} not found") from exc
    return found


async def limit_request_for_read(request_id: ObjectId, session: SessionDep, actor: Actor) -> LimitRequest:
    """The limit request to show."""
    return await _load(session, actor, LimitRequest, request_id, "Limit request", write=False)


async def limit_request_for_update(request_id: ObjectId, session: SessionDep, actor: Actor) -> LimitRequest:
    """The limit request to decide."""
    return await _load(session, actor, LimitRequest, request_id, "Limit request", write=True)


async def invoice_for_read(invoice_id: ObjectId, session: SessionDep, actor: Actor) -> Invoice:
    """The invoice to show (with its payments, credit notes and history)."""
    return await _load(session, actor, Invoice, invoice_id, "Invoice", write=False)


async def invoice_for_update(invoice_id: ObjectId, session: SessionDep, actor: Actor) -> Invoice:
    """The invoice to record a payment or credit note against, cancel, or dispute."""
    return await _load(session, actor, Invoice, invoice_id, "Invoice", write=True)


async def order_for_update(order_id: ObjectId, session: SessionDep, actor: Actor) -> SalesOrder:
    """The order to release or close."""
    return await _load(session, actor, SalesOrder, order_id, "Order", write=True)


async def alert_for_read(alert_id: ObjectId, session: SessionDep, actor: Actor) -> Alert:
    """The alert to show."""
    return await _load(session, actor, Alert, alert_id, "Alert", write=False)


async def alert_for_update(alert_id: ObjectId, session: SessionDep, actor: Actor) -> Alert:
    """The alert to move along its lifecycle."""
    return await _load(session, actor, Alert, alert_id, "Alert", write=True)


async def action_item_for_read(item_id: ObjectId, session: SessionDep, actor: Actor) -> ActionItem:
    """The contingency-plan step to show."""
    return await _load(session, actor, ActionItem, item_id, "Action item", write=False)


async def action_item_for_update(item_id: ObjectId, session: SessionDep, actor: Actor) -> ActionItem:
    """The contingency-plan step to complete."""
    return await _load(session, actor, ActionItem, item_id, "Action item", write=True)


async def contract_for_read(contract_id: ObjectId, session: SessionDep, actor: Actor) -> Contract:
    """The contract to show."""
    return await _load(session, actor, Contract, contract_id, "Contract", write=False)


async def contract_for_update(contract_id: ObjectId, session: SessionDep, actor: Actor) -> Contract:
    """The contract to edit or move along its review workflow."""
    return await _load(session, actor, Contract, contract_id, "Contract", write=True)


LimitRequestForRead = Annotated[LimitRequest, Depends(limit_request_for_read)]
LimitRequestForUpdate = Annotated[LimitRequest, Depends(limit_request_for_update)]
InvoiceForRead = Annotated[Invoice, Depends(invoice_for_read)]
InvoiceForUpdate = Annotated[Invoice, Depends(invoice_for_update)]
OrderForUpdate = Annotated[SalesOrder, Depends(order_for_update)]
AlertForRead = Annotated[Alert, Depends(alert_for_read)]
AlertForUpdate = Annotated[Alert, Depends(alert_for_update)]
ActionItemForRead = Annotated[ActionItem, Depends(action_item_for_read)]
ActionItemForUpdate = Annotated[ActionItem, Depends(action_item_for_update)]
ContractForRead = Annotated[Contract, Depends(contract_for_read)]
ContractForUpdate = Annotated[Contract, Depends(contract_for_update)]
