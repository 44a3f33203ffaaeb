"""Contract routes: clause checklist, review workflow, expiry reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk import contracts as contracts_service
from services.risk.compliance import missing_mandatory_clauses
from services.risk.models import Contract, platform
from services.risk.routing import CreditManager, Paging, page_of, paged, remember_response, replay_idempotent
from services.risk.schemas import (
    ContractCreate,
    ContractDetail,
    ContractRead,
    ContractReminderRead,
    ContractReviewRead,
    ContractTransition,
    ContractUpdate,
)
from shared.api import Page, check_if_match, set_etag
from shared.auth import (
    RISK_OFFICER,
    SUPERVISOR,
    CurrentPrincipal,
    ensure_account_access,
    require_roles,
    visible_accounts_clause,
)
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(tags=["risk: contracts"], responses=PROBLEM_RESPONSES)


# ---------------------------------------------------------------- contracts


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead.model_validate(
        {
            **{c: getattr(contract, c) for c in ContractRead.model_fields if hasattr(contract, c)},
            "missing_mandatory_clauses": missing_mandatory_clauses(contract.contract_type, contract.clauses),
        }
    )


async def _contract_detail(session: AsyncSession, contract: Contract) -> ContractDetail:
    reviews = await contracts_service.reviews_of(session, contract_id=contract.id)
    reminders = await contracts_service.reminders_of(session, contract_id=contract.id)
    return ContractDetail(
        **_contract_read(contract).model_dump(),
        reviews=[ContractReviewRead.model_validate(r) for r in reviews],
        reminders=[ContractReminderRead.model_validate(r) for r in reminders],
    )


@router.post(
    "/risk/accounts/{account_id}/contracts",
    summary="Register a contract (draft) with its clause checklist",
    status_code=201,
)
async def create_contract(
    account_id: str,
    body: ContractCreate,
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """A new draft; clauses not listed count as missing (accepts an Idempotency-Key)."""
    await ensure_account_access(session, platform, principal, account_id, write=True)
    payload = body.model_dump(mode="json")
    if (replayed := await replay_idempotent(session, request, principal, payload)) is not None:
        return replayed  # type: ignore[return-value]
    contract = await contracts_service.create_contract(
        session, account_id=account_id, by=principal.user_id, now=clock.now(), **body.model_dump()
    )
    result = await _contract_detail(session, contract)
    await remember_response(session, request, principal, payload, result.model_dump(mode="json"))
    return result


@router.get("/risk/contracts", summary="Contracts (filter by account, status, expiring within N days)")
async def list_contracts(
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
    page: Paging,
    account_id: str | None = None,
    status: Annotated[str | None, Query(pattern="^(draft|legal_review|approved|rejected)$")] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> Page[ContractRead]:
    """Contracts the caller may see, by end date."""
    stmt = select(Contract).where(visible_accounts_clause(platform, principal, Contract.account_id))
    if account_id:
        stmt = stmt.where(Contract.account_id == account_id)
    if status:
        stmt = stmt.where(Contract.status == status)
    if expiring_within_days is not None:
        today = clock.now().date()
        stmt = stmt.where(Contract.end_on >= today, Contract.end_on <= today + timedelta(days=expiring_within_days))
    rows, total = await paged(session, stmt, page, Contract.end_on, Contract.id)
    return Page[ContractRead](**page_of([_contract_read(r) for r in rows], total, page))


@router.get("/risk/contracts/{contract_id}", summary="A contract with its checklist, review trail and reminders")
async def get_contract(
    contract_id: str, session: SessionDep, principal: CurrentPrincipal, response: Response
) -> ContractDetail:
    """The contract (ETag = version)."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id)
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.patch("/risk/contracts/{contract_id}", summary="Edit a contract that is not approved (If-Match)")
async def update_contract(
    contract_id: str,
    body: ContractUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """Change fields or tick clauses of the checklist."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id, write=True)
    check_if_match(request, contract.version)
    await contracts_service.update_contract(
        session, contract=contract, changes=body.model_dump(exclude_unset=True), now=clock.now()
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post(
    "/risk/contracts/{contract_id}/transitions",
    summary="Review workflow: draft → legal_review → approved / rejected (→ draft)",
)
async def transition_contract(
    contract_id: str,
    body: ContractTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: CurrentPrincipal,
    clock: ClockDep,
) -> ContractDetail:
    """Approving or rejecting needs a risk officer or supervisor; a missing mandatory clause blocks approval (409)."""
    contract = await contracts_service.get_contract(session, contract_id=contract_id)
    await ensure_account_access(session, platform, principal, contract.account_id, write=True)
    if body.status in ("approved", "rejected"):
        await require_roles(RISK_OFFICER, SUPERVISOR)(principal)
    check_if_match(request, contract.version)
    await contracts_service.transition_contract(
        session, contract=contract, target=body.status, note=body.note, by=principal.user_id, now=clock.now()
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post("/risk/jobs/contract-reminders", summary="Run the contract expiry reminders now (normally periodic)")
async def run_contract_reminders(
    session: SessionDep, principal: CreditManager, clock: ClockDep
) -> list[ContractReminderRead]:
    """Send the 90/60/30-day reminders due at the service clock's now."""
    sent = await contracts_service.run_expiry_reminders(session, now=clock.now())
    return [ContractReminderRead.model_validate(r) for r in sent]
