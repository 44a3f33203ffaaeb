"""Contract routes: clause checklist, review workflow, expiry reminders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts import service
from services.risk.contracts.compliance import missing_mandatory_clauses
from services.risk.contracts.models import Contract
from services.risk.contracts.schemas import (
    ContractCreate,
    ContractDetail,
    ContractRead,
    ContractReminderRead,
    ContractReviewRead,
    ContractTransition,
    ContractUpdate,
)
from services.risk.deps import (
    CONTRACT_DECIDERS,
    AccountForUpdate,
    AccountIdFilter,
    Actor,
    ContractForRead,
    ContractForUpdate,
    CreditManager,
    Paging,
    Today,
)
from services.risk.paging import page_of
from shared.api import Page, check_if_match, set_etag
from shared.auth import require_roles
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["risk: contracts"], responses=PROBLEM_RESPONSES)


def _contract_read(contract: Contract) -> ContractRead:
    return ContractRead.model_validate(
        {
            **{c: getattr(contract, c) for c in ContractRead.model_fields if hasattr(contract, c)},
            "missing_mandatory_clauses": missing_mandatory_clauses(contract.contract_type, contract.clauses),
        }
    )


async def _contract_detail(session: AsyncSession, contract: Contract) -> ContractDetail:
    reviews = await service.reviews_of(session, contract_id=contract.id)
    reminders = await service.reminders_of(session, contract_id=contract.id)
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
    account: AccountForUpdate,
    body: ContractCreate,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
) -> ContractDetail:
    """A new draft; clauses not listed count as missing; ``approver_id`` names who decides it (Idempotency-Key)."""
    contract = await service.create_contract(
        session, account_id=account["account_id"], body=body, actor=actor, now=clock.now()
    )
    result = await _contract_detail(session, contract)
    return result


@router.get("/risk/contracts", summary="Contracts (filter by account, status, expiring within N days)")
async def list_contracts(
    session: SessionDep,
    actor: Actor,
    today: Today,
    page: Paging,
    account_id: AccountIdFilter = None,
    status: Annotated[str | None, Query(pattern="^(draft|legal_review|approved|rejected)$")] = None,
    expiring_within_days: Annotated[int | None, Query(ge=0, le=3650)] = None,
) -> Page[ContractRead]:
    """Contracts the caller may see, by end date."""
    rows, total = await service.list_contracts(
        session,
        actor=actor,
        account_id=account_id,
        status=status,
        expiring_within_days=expiring_within_days,
        today=today,
        page=page,
    )
    return Page[ContractRead](**page_of([_contract_read(r) for r in rows], total, page))


@router.get("/risk/contracts/{contract_id}", summary="A contract with its checklist, review trail and reminders")
async def get_contract(contract: ContractForRead, session: SessionDep, response: Response) -> ContractDetail:
    """The contract (ETag = version)."""
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.patch("/risk/contracts/{contract_id}", summary="Edit a contract that is not approved (If-Match)")
async def update_contract(
    contract: ContractForUpdate,
    body: ContractUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> ContractDetail:
    """Change fields or tick clauses of the checklist; a named approver is checked (422 naming ``approver_id``)."""
    check_if_match(request, contract.version)
    await service.update_contract(session, contract=contract, body=body, now=clock.now())
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post(
    "/risk/contracts/{contract_id}/transitions",
    summary="Review workflow: draft → legal_review → approved / rejected (→ draft)",
)
async def transition_contract(
    contract: ContractForUpdate,
    body: ContractTransition,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
) -> ContractDetail:
    """Approving or rejecting needs a risk officer or supervisor; a missing mandatory clause blocks approval (409)."""
    if body.status in ("approved", "rejected"):
        await require_roles(*CONTRACT_DECIDERS)(actor)
    check_if_match(request, contract.version)
    await service.transition_contract(session, contract=contract, body=body, actor=actor, now=clock.now())
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post("/risk/jobs/contract-reminders", summary="Run the contract expiry reminders now (normally periodic)")
async def run_contract_reminders(
    session: SessionDep, actor: CreditManager, publisher: PublisherDep, clock: ClockDep, today: Today
) -> list[ContractReminderRead]:
    """Send the 90/60/30-day reminders due on the business date today (service clock, company zone)."""
    sent = await service.run_expiry_reminders(session, publisher=publisher, now=clock.now(), today=today)
    return [ContractReminderRead.model_validate(r) for r in sent]
