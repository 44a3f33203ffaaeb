"""Contracts: clause checklist, review workflow (a missing mandatory clause blocks approval), expiry reminders."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.risk.alerts import record_signal
from services.risk.compliance import (
    CLAUSES,
    REMINDER_DAYS,
    check_contract_transition,
    missing_mandatory_clauses,
    reminder_due,
)
from services.risk.models import Contract, ContractReminder, ContractReview
from shared.errors import Conflict, NotFound, Unprocessable

EDITABLE_STATUSES = ("draft", "legal_review", "rejected")


def _check_clauses(clauses: dict[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(clauses) - set(CLAUSES))
    if unknown:
        raise Unprocessable(f"Unknown clauses: {', '.join(unknown)}; known: {', '.join(CLAUSES)}", field="clauses")
    return {code: bool(clauses.get(code, False)) for code in CLAUSES}


async def create_contract(
    session: AsyncSession,
    *,
    account_id: str,
    title: str,
    contract_type: str,
    value: Decimal | None,
    currency: str,
    start_on: date,
    end_on: date | None,
    auto_renewal: bool,
    clauses: dict[str, bool],
    by: str,
    now: datetime,
) -> Contract:
    """Register a contract as a draft with its clause checklist."""
    if end_on is not None and end_on < start_on:
        raise Unprocessable("end_on is before start_on", field="end_on")
    contract = Contract(
        account_id=account_id,
        title=title,
        contract_type=contract_type,
        value=value,
        currency=currency,
        start_on=start_on,
        end_on=end_on,
        auto_renewal=auto_renewal,
        clauses=_check_clauses(clauses),
        status="draft",
        version=1,
        created_by=by,
        created_at=now,
        updated_at=now,
    )
    session.add(contract)
    await session.flush()
    return contract


async def get_contract(session: AsyncSession, *, contract_id: str) -> Contract:
    """A contract or 404."""
    contract = await session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"Contract {contract_id} not found")
    return contract


async def update_contract(
    session: AsyncSession, *, contract: Contract, changes: dict[str, Any], now: datetime
) -> Contract:
    """Change a contract that is not approved yet (clauses are merged into the checklist)."""
    if contract.status not in EDITABLE_STATUSES:
        raise Conflict(f"An {contract.status} contract cannot be edited", current=contract.status)
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
    session: AsyncSession, *, contract: Contract, target: str, note: str, by: str, now: datetime
) -> Contract:
    """Move a contract along its review workflow; approval needs every mandatory clause (409 otherwise)."""
    check_contract_transition(contract.status, target)
    if target == "approved":
        missing = missing_mandatory_clauses(contract.contract_type, contract.clauses)
        if missing:
            raise Conflict(
                "The contract lacks mandatory clauses: " + ", ".join(CLAUSES[m] for m in missing),
                missing_clauses=missing,
            )
    session.add(
        ContractReview(
            contract_id=contract.id, from_status=contract.status, to_status=target, reviewer_id=by, note=note, at=now
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


async def run_expiry_reminders(session: AsyncSession, *, now: datetime) -> list[ContractReminder]:
    """Send the 90/60/30-day expiry reminders due at ``now`` (each once) and raise contract-expiry signals."""
    today = now.date()
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
            now=now,
        )
        sent.append(reminder)
    await session.flush()
    return sent


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
