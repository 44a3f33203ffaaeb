"""Contracts domain: clause checklist, review workflow (a missing mandatory clause blocks approval), reminders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.contracts.compliance import (
    CLAUSES,
    REMINDER_DAYS,
    check_contract_transition,
    missing_mandatory_clauses,
    reminder_due,
)
from services.risk.contracts.models import Contract, ContractReminder, ContractReview
from services.risk.contracts.schemas import ContractCreate, ContractTransition, ContractUpdate
from services.risk.models import platform
from services.risk.paging import paged
from services.risk.warnings.service import record_signal
from shared.api import PageParams
from shared.auth import ADMIN, RISK_OFFICER, SUPERVISOR, Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, Unprocessable
from shared.events import ContractExpiring
from shared.events.catalogue import ContractExpiringData
from shared.people import require_assignable

EDITABLE_STATUSES = ("draft", "legal_review", "rejected")
# Who may be named to decide a contract in legal review.
APPROVER_ROLES = (RISK_OFFICER, SUPERVISOR, ADMIN)
DECISIONS = ("approved", "rejected")


async def _check_approver(session: AsyncSession, *, approver_id: str | None, account_id: str) -> None:
    """A named approver is a known, active risk officer or supervisor who sees the account (422 naming it)."""
    await require_assignable(
        session, platform, user_id=approver_id, field="approver_id", account_id=account_id, roles=APPROVER_ROLES
    )


def _check_clauses(clauses: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(clauses) - set(CLAUSES))
    if unknown:
        raise Unprocessable(f"Unknown clauses: {', '.join(unknown)}; known: {', '.join(CLAUSES)}", field="clauses")
    return {code: bool(clauses.get(code, False)) for code in CLAUSES}


async def create_contract(
    session: AsyncSession, *, account_id: str, body: ContractCreate, actor: Principal, now: datetime
) -> Contract:
    """Register a contract as a draft with its clause checklist."""
    if body.end_on is not None and body.end_on < body.start_on:
        raise Unprocessable("end_on is before start_on", field="end_on")
    await _check_approver(session, approver_id=body.approver_id, account_id=account_id)
    contract = Contract(
        account_id=account_id,
        title=body.title,
        contract_type=body.contract_type,
        value=body.value,
        currency=body.currency,
        start_on=body.start_on,
        end_on=body.end_on,
        auto_renewal=body.auto_renewal,
        clauses=_check_clauses(body.clauses),
        status="draft",
        approver_id=body.approver_id,
        version=1,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(contract)
    await session.flush()
    return contract


async def update_contract(
    session: AsyncSession, *, contract: Contract, body: ContractUpdate, now: datetime
) -> Contract:
    """Change a contract that is not approved yet (clauses are merged into the checklist; ``approver_id: null``
    clears the named approver)."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    if contract.status not in EDITABLE_STATUSES:
        raise Conflict(f"An {contract.status} contract cannot be edited", current=contract.status)
    if "approver_id" in changes:
        approver_id = changes.pop("approver_id")
        await _check_approver(session, approver_id=approver_id, account_id=contract.account_id)
        contract.approver_id = approver_id
    if "clauses" in changes and changes["clauses"] is not None:
        contract.clauses = _check_clauses({**contract.clauses, **changes.pop("clauses")})
    for key, value in changes.items():
        if value is not None:
            setattr(contract, key, value)
    if contract.end_on is not None and contract.end_on < contract.start_on:
        raise Unprocessable("end_on is before start_on", field="end_on")
    contract.version += 1
    contract.updated_at = now
    await session.flush()
    return contract


async def transition_contract(
    session: AsyncSession, *, contract: Contract, body: ContractTransition, actor: Principal, now: datetime
) -> Contract:
    """Move a contract along its review workflow; approval needs every mandatory clause (409 otherwise), and a
    contract with a named approver is approved or rejected by that approver (or an admin; 403 otherwise)."""
    target = body.status
    check_contract_transition(contract.status, target)
    if target in DECISIONS and contract.approver_id not in (None, actor.user_id) and not actor.has_any([ADMIN]):
        raise Forbidden(f"This contract is to be decided by {contract.approver_id}")
    if target == "approved":
        missing = missing_mandatory_clauses(contract.contract_type, contract.clauses)
        if missing:
            raise Conflict(
                "The contract lacks mandatory clauses: " + ", ".join(CLAUSES[m] for m in missing),
                missing_clauses=missing,
            )
    session.add(
        ContractReview(
            contract_id=contract.id,
            from_status=contract.status,
            to_status=target,
            reviewer_id=actor.user_id,
            note=body.note,
            at=now,
        )
    )
    contract.status = target
    contract.version += 1
    contract.updated_at = now
    await session.flush()
    return contract


async def reviews_of(session: AsyncSession, *, contract_id: str) -> list[ContractReview]:
    """The review trail of a contract, oldest first."""
    rows = await session.execute(
        select(ContractReview).where(ContractReview.contract_id == contract_id).order_by(ContractReview.at)
    )
    return list(rows.scalars())


async def reminders_of(session: AsyncSession, *, contract_id: str) -> list[ContractReminder]:
    """Expiry reminders sent for a contract."""
    rows = await session.execute(
        select(ContractReminder)
        .where(ContractReminder.contract_id == contract_id)
        .order_by(ContractReminder.days_before.desc())
    )
    return list(rows.scalars())


async def run_expiry_reminders(
    session: AsyncSession, *, publisher: Publisher, now: datetime, today: date
) -> list[ContractReminder]:
    """Send the 90/60/30-day expiry reminders due on ``today`` (the business date; each once): each stage is a
    ``contract_reminders`` row, a ``risk.contract_expiring`` event (to the account's owner) and a contract-expiry
    signal, in one transaction — the row's key (contract, stage) keeps a stage from being sent twice."""
    horizon = today + timedelta(days=max(REMINDER_DAYS))
    contracts = (
        await session.execute(
            select(Contract).where(
                Contract.status == "approved",
                Contract.end_on.is_not(None),
                Contract.end_on >= today,
                Contract.end_on <= horizon,
            )
        )
    ).scalars()
    sent: list[ContractReminder] = []
    for contract in list(contracts):
        assert contract.end_on is not None
        already = (
            await session.execute(
                select(ContractReminder.days_before).where(ContractReminder.contract_id == contract.id)
            )
        ).scalars()
        stage = reminder_due(contract.end_on, today, list(already))
        if stage is None:
            continue
        reminder = ContractReminder(
            contract_id=contract.id,
            days_before=stage,
            account_id=contract.account_id,
            due_on=contract.end_on - timedelta(days=stage),
            sent_at=now,
        )
        session.add(reminder)
        days_left = (contract.end_on - today).days
        await _announce_expiry(session, contract=contract, stage=stage, days_left=days_left, publisher=publisher)
        await record_signal(
            session,
            account_id=contract.account_id,
            signal_type="contract_expiry",
            value=Decimal(days_left),
            source="job",
            source_ref=f"contract:{contract.id}:{stage}",
            title=f"《{contract.title}》{days_left} 天后到期 (expires {contract.end_on}"
            + (", auto-renews)" if contract.auto_renewal else ")"),
            details={"contract_id": contract.id, "end_on": contract.end_on.isoformat(), "stage": stage},
            publisher=publisher,
            now=now,
            today=today,
        )
        sent.append(reminder)
    await session.flush()
    return sent


async def _announce_expiry(
    session: AsyncSession, *, contract: Contract, stage: int, days_left: int, publisher: Publisher
) -> None:
    """``risk.contract_expiring`` for one reminder stage; ``owner_id`` is the account's owner (projection)."""
    assert contract.end_on is not None
    accounts = platform.accounts
    owner_id = await session.scalar(select(accounts.c.owner_id).where(accounts.c.account_id == contract.account_id))
    data = ContractExpiringData(
        contract_id=contract.id,
        title=contract.title,
        expires_on=contract.end_on,
        days_left=days_left,
        stage=stage,
        owner_id=owner_id,
    )
    await publisher.publish(session, ContractExpiring, data, account_id=contract.account_id)


def attention_reason(contract: Contract, today: date) -> dict[str, Any] | None:
    """Why a contract needs attention (missing clauses, pending review, rejected, expiring), or None."""
    reasons: list[str] = []
    missing = missing_mandatory_clauses(contract.contract_type, contract.clauses)
    if contract.status != "approved" and missing:
        reasons.append("missing_mandatory_clauses")
    if contract.status == "legal_review":
        reasons.append("awaiting_legal_review")
    if contract.status == "rejected":
        reasons.append("rejected")
    days_left = (contract.end_on - today).days if contract.end_on is not None else None
    if contract.status == "approved" and days_left is not None and days_left <= max(REMINDER_DAYS):
        reasons.append("expired" if days_left < 0 else "expiring")
    if not reasons:
        return None
    return {
        "contract_id": contract.id,
        "title": contract.title,
        "status": contract.status,
        "end_on": contract.end_on,
        "days_to_expiry": days_left,
        "missing_clauses": missing,
        "reasons": reasons,
    }


async def list_contracts(
    session: AsyncSession,
    *,
    actor: Principal,
    account_id: str | None,
    status: str | None,
    expiring_within_days: int | None,
    today: date,
    page: PageParams,
) -> tuple[list[Contract], int]:
    """Contracts the actor may see, by end date (``expiring_within_days``: ending from today to that day)."""
    stmt = select(Contract).where(visible_accounts_clause(platform, actor, Contract.account_id))
    if account_id:
        stmt = stmt.where(Contract.account_id == account_id)
    if status:
        stmt = stmt.where(Contract.status == status)
    if expiring_within_days is not None:
        stmt = stmt.where(Contract.end_on >= today, Contract.end_on <= today + timedelta(days=expiring_within_days))
    return await paged(session, stmt, page, Contract.end_on, Contract.id)
