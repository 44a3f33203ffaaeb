"""Contract routes: clause checklist, review workflow, expiry reminders."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts import documents, service
from services.risk.contracts.compliance import missing_mandatory_clauses
from services.risk.contracts.models import Contract
from services.risk.contracts.schemas import (
    ContractAmend,
    ContractAmendmentRead,
    ContractCreate,
    ContractDetail,
    ContractDocumentRead,
    ContractRead,
    ContractReminderRead,
    ContractRenew,
    ContractReviewRead,
    ContractTerminate,
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
    amendments = await service.amendments_of(session, contract_id=contract.id)
    docs = await documents.documents_of(session, contract_id=contract.id)
    return ContractDetail(
        **_contract_read(contract).model_dump(),
        reviews=[ContractReviewRead.model_validate(r) for r in reviews],
        reminders=[ContractReminderRead.model_validate(r) for r in reminders],
        amendments=[ContractAmendmentRead.model_validate(a) for a in amendments],
        documents=[ContractDocumentRead.model_validate(d) for d in docs],
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
    status: Annotated[str | None, Query(pattern="^(draft|legal_review|approved|rejected|terminated)$")] = None,
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
    actor: Actor,
) -> ContractDetail:
    """Change fields or tick clauses of the checklist (each tick kept in the review trail with who ticked it); a
    named approver is checked (422 naming ``approver_id``: never the drafter)."""
    check_if_match(request, contract.version)
    await service.update_contract(session, contract=contract, body=body, now=clock.now(), actor=actor)
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


@router.post("/risk/contracts/{contract_id}/amendments", summary="Amend an approved contract's terms (If-Match)")
async def amend_contract(
    contract: ContractForUpdate,
    body: ContractAmend,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CreditManager,
    clock: ClockDep,
) -> ContractDetail:
    """A new version of the terms (risk officer or supervisor): what changed, before → after, from when."""
    check_if_match(request, contract.version)
    await service.amend_contract(session, contract=contract, body=body, actor=actor, now=clock.now())
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post("/risk/contracts/{contract_id}/renew", summary="Renew an approved contract to a later end (If-Match)")
async def renew_contract(
    contract: ContractForUpdate,
    body: ContractRenew,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CreditManager,
    publisher: PublisherDep,
    clock: ClockDep,
    today: Today,
) -> ContractDetail:
    """The reminders start again for the new end; the contract's expiry alert clears itself."""
    check_if_match(request, contract.version)
    await service.renew_contract(
        session, contract=contract, body=body, actor=actor, publisher=publisher, now=clock.now(), today=today
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post("/risk/contracts/{contract_id}/terminate", summary="Terminate an approved contract (If-Match)")
async def terminate_contract(
    contract: ContractForUpdate,
    body: ContractTerminate,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: CreditManager,
    publisher: PublisherDep,
    clock: ClockDep,
) -> ContractDetail:
    """``terminated`` with its date and reason: no more reminders; the contract's expiry alert clears itself."""
    check_if_match(request, contract.version)
    await service.terminate_contract(
        session, contract=contract, body=body, actor=actor, publisher=publisher, now=clock.now()
    )
    set_etag(response, contract.version)
    return await _contract_detail(session, contract)


@router.post(
    "/risk/contracts/{contract_id}/documents",
    summary="Upload a new version of the contract's document",
    status_code=201,
)
async def upload_document(
    contract: ContractForUpdate,
    file: Annotated[UploadFile, File(description="PDF, DOCX, PNG or JPEG, at most 10 MB")],
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
) -> ContractDocumentRead:
    """Versions 1, 2, …; the declared content type must be accepted and match the bytes (415), ≤ 10 MB (413)."""
    content = await file.read(documents.MAX_DOCUMENT_BYTES + 1)
    document = await documents.upload_document(
        session,
        contract=contract,
        filename=file.filename or "document",
        content=content,
        content_type=file.content_type,
        actor=actor,
        now=clock.now(),
    )
    return ContractDocumentRead.model_validate(document)


@router.get("/risk/contracts/{contract_id}/documents", summary="The document versions of a contract")
async def list_documents(contract: ContractForRead, session: SessionDep) -> list[ContractDocumentRead]:
    """Oldest first, without the bytes."""
    rows = await documents.documents_of(session, contract_id=contract.id)
    return [ContractDocumentRead.model_validate(d) for d in rows]


@router.get(
    "/risk/contracts/{contract_id}/documents/{version}",
    summary="Download one version of a contract's document",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The document's bytes"}},
)
async def download_document(
    contract: ContractForRead, session: SessionDep, version: Annotated[int, Path(ge=1, le=10_000)]
) -> Response:
    """The bytes as uploaded, with their content type; who may not see the contract gets a 404."""
    document = await documents.document_version(session, contract_id=contract.id, version=version)
    ascii_name = document.filename.encode("ascii", "replace").decode().replace('"', "_")
    return Response(
        content=document.content,
        media_type=document.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"',
            "X-Content-Type-Options": "nosniff",
            "ETag": f'"{document.sha256}"',
        },
    )


@router.post("/risk/jobs/contract-reminders", summary="Run the contract expiry reminders now (normally periodic)")
async def run_contract_reminders(
    session: SessionDep, actor: CreditManager, publisher: PublisherDep, clock: ClockDep, today: Today
) -> list[ContractReminderRead]:
    """Send the 90/60/30-day reminders due on the business date today (service clock, company zone)."""
    sent = await service.run_expiry_reminders(session, publisher=publisher, now=clock.now(), today=today)
    return [ContractReminderRead.model_validate(r) for r in sent]
