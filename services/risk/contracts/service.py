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
from services.risk.contracts.models import Contract, ContractAmendment, ContractReminder, ContractReview
from services.risk.contracts.schemas import (
    ContractAmend,
    ContractCreate,
    ContractRenew,
    ContractTerminate,
    ContractTransition,
    ContractUpdate,
)
from services.risk.models import audit_log, platform
from services.risk.paging import paged
from services.risk.warnings.service import record_signal, settle_alerts
from shared.api import PageParams
from shared.audit import record_audit, snapshot
from shared.auth import ACCOUNT_MANAGER, ADMIN, RISK_OFFICER, SUPERVISOR, Principal, visible_accounts_clause
from shared.bus import Publisher
from shared.errors import Conflict, Forbidden, Unprocessable
from shared.events import ContractExpiring
from shared.events.catalogue import ContractExpiringData
from shared.people import require_assignable

EDITABLE_STATUSES = ("draft", "legal_review", "rejected")
# Who may be named to decide a contract in legal review.
APPROVER_ROLES = (RISK_OFFICER, SUPERVISOR, ADMIN)
DECISIONS = ("approved", "rejected")
# Who may look after a contract (its reminders go to them).
OWNER_ROLES = (ACCOUNT_MANAGER, RISK_OFFICER, SUPERVISOR, ADMIN)
# What the audit log shows of a contract decided, amended, renewed or terminated.
CONTRACT_AUDIT = (
    "status",
    "value",
    "currency",
    "end_on",
    "auto_renewal",
    "clauses",
    "terms_version",
    "renewal_count",
    "terminated_on",
)


async def _check_approver(session: AsyncSession, *, approver_id: str | None, account_id: str, drafter: str) -> None:
    """A named approver is a known, active risk officer or supervisor who sees the account and did not draft it
    (four eyes; 422 naming ``approver_id``)."""
    if approver_id is not None and approver_id == drafter:
        raise Unprocessable("approver_id: the drafter cannot approve their own contract", field="approver_id")
    await require_assignable(
        session, platform, user_id=approver_id, field="approver_id", account_id=account_id, roles=APPROVER_ROLES
    )


def _tick_entries(
    contract: Contract, before: dict[str, bool], *, actor: Principal, now: datetime
) -> list[ContractReview]:
    """One review-trail entry per clause whose tick changed (a new contract: every clause ticked present)."""
    return [
        ContractReview(
            contract_id=contract.id,
            from_status=contract.status,
            to_status=contract.status,
            reviewer_id=actor.user_id,
            note="",
            at=now,
            action="clause",
            clause=code,
            present=present,
        )
        for code, present in contract.clauses.items()
        if before.get(code, False) != present
    ]


def _trail(
    contract: Contract, action: str, *, actor: Principal, note: str, now: datetime, before: str | None = None
) -> ContractReview:
    """A review-trail entry for an action on the contract (its status before → now)."""
    return ContractReview(
        contract_id=contract.id,
        from_status=before or contract.status,
        to_status=contract.status,
        reviewer_id=actor.user_id,
        note=note,
        at=now,
        action=action,
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
    await _check_approver(session, approver_id=body.approver_id, account_id=account_id, drafter=actor.user_id)
    await require_assignable(
        session, platform, user_id=body.owner_id, field="owner_id", account_id=account_id, roles=OWNER_ROLES
    )
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
        counterparty=body.counterparty,
        signatories=[s.model_dump(mode="json") for s in body.signatories],
        owner_id=body.owner_id,
        terms_version=1,
        renewal_count=0,
    )
    session.add(contract)
    await session.flush()
    session.add_all(_tick_entries(contract, {}, actor=actor, now=now))
    await session.flush()
    return contract


async def update_contract(
    session: AsyncSession, *, contract: Contract, body: ContractUpdate, now: datetime, actor: Principal
) -> Contract:
    """Change a contract that is not approved yet (clauses are merged into the checklist, each changed tick kept
    in the review trail with who ticked it; ``approver_id: null`` clears the named approver, ``owner_id: null``
    the owner)."""
    changes: dict[str, Any] = body.model_dump(exclude_unset=True, mode="json")
    if contract.status not in EDITABLE_STATUSES:
        raise Conflict(f"An {contract.status} contract cannot be edited", current=contract.status)
    for key in ("approver_id", "owner_id"):
        if key in changes:
            user_id = changes.pop(key)
            if key == "approver_id":
                await _check_approver(
                    session, approver_id=user_id, account_id=contract.account_id, drafter=contract.created_by
                )
            else:
                await require_assignable(
                    session, platform, user_id=user_id, field=key, account_id=contract.account_id, roles=OWNER_ROLES
                )
            setattr(contract, key, user_id)
    if "clauses" in changes and changes["clauses"] is not None:
        before = dict(contract.clauses)
        contract.clauses = _check_clauses({**contract.clauses, **changes.pop("clauses")})
        session.add_all(_tick_entries(contract, before, actor=actor, now=now))
    for key in ("value", "start_on", "end_on"):  # typed again (the dump above is JSON)
        if changes.get(key) is not None:
            changes[key] = getattr(body, key)
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
    if target in DECISIONS and actor.user_id == contract.created_by:
        raise Forbidden("Four eyes: the drafter of a contract cannot decide it")
    if target in DECISIONS and contract.approver_id not in (None, actor.user_id) and not actor.has_any([ADMIN]):
        raise Forbidden(f"This contract is to be decided by {contract.approver_id}")
    before = snapshot(contract, CONTRACT_AUDIT)
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
    if target in DECISIONS:
        await _audit(session, contract, f"contract.{target}", before, actor=actor, now=now)
    return contract


async def _audit(
    session: AsyncSession, contract: Contract, action: str, before: dict[str, Any], *, actor: Principal, now: datetime
) -> None:
    await record_audit(
        session,
        audit_log,
        actor_id=actor.user_id,
        action=action,
        object_type="contract",
        object_id=contract.id,
        before=before,
        after=snapshot(contract, CONTRACT_AUDIT),
        at=now,
    )


def _require_approved(contract: Contract, what: str) -> None:
    if contract.status != "approved":
        raise Conflict(
            f"Only an approved contract can be {what}; this one is {contract.status}", current=contract.status
        )


async def amend_contract(
    session: AsyncSession, *, contract: Contract, body: ContractAmend, actor: Principal, now: datetime
) -> ContractAmendment:
    """A new version of an approved contract's terms: the changed fields (before → after) are kept as an
    amendment, ``terms_version`` goes up; an amendment may not drop a mandatory clause (409)."""
    _require_approved(contract, "amended")
    audit_before = snapshot(contract, CONTRACT_AUDIT)
    proposed: dict[str, Any] = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    proposed.pop("summary", None)
    proposed.pop("effective_on", None)
    if "clauses" in proposed:
        proposed["clauses"] = _check_clauses({**contract.clauses, **proposed["clauses"]})
        missing = missing_mandatory_clauses(contract.contract_type, proposed["clauses"])
        if missing:
            raise Conflict("The amendment drops mandatory clauses", missing_clauses=missing)
    end_on = proposed.get("end_on", contract.end_on)
    if end_on is not None and end_on < contract.start_on:
        raise Unprocessable("end_on is before start_on", field="end_on")
    changes = {
        key: {"before": _jsonable(getattr(contract, key)), "after": _jsonable(value)}
        for key, value in proposed.items()
        if getattr(contract, key) != value
    }
    if not changes:
        raise Unprocessable("The amendment changes nothing", field="summary")
    for key, value in proposed.items():
        setattr(contract, key, value)
    contract.terms_version += 1
    amendment = ContractAmendment(
        contract_id=contract.id,
        terms_version=contract.terms_version,
        effective_on=body.effective_on,
        summary=body.summary,
        changes=changes,
        created_by=actor.user_id,
        created_at=now,
    )
    session.add(amendment)
    session.add(_trail(contract, "amendment", actor=actor, note=body.summary, now=now))
    contract.version += 1
    contract.updated_at = now
    await session.flush()
    await _audit(session, contract, "contract.amended", audit_before, actor=actor, now=now)
    return amendment


def _jsonable(value: Any) -> Any:
    """An amended term as the amendment keeps it (money with its 4 places, dates ISO)."""
    if isinstance(value, Decimal):
        return f"{value.quantize(Decimal('0.0001')):f}"
    return value.isoformat() if isinstance(value, date) else value


async def renew_contract(
    session: AsyncSession,
    *,
    contract: Contract,
    body: ContractRenew,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
    today: date,
) -> Contract:
    """Renew an approved contract to a later end: ``renewed_on`` today, the reminder stages start again for the new
    end (the old term's reminders are replaced), and its contract-expiry alert clears itself."""
    _require_approved(contract, "renewed")
    if contract.end_on is not None and body.end_on <= contract.end_on:
        raise Unprocessable(f"end_on: a renewal ends after the current end {contract.end_on}", field="end_on")
    if body.end_on <= today:
        raise Unprocessable("end_on: a renewal ends after today", field="end_on")
    before = snapshot(contract, CONTRACT_AUDIT)
    note = f"{contract.end_on} → {body.end_on}" + (f": {body.note}" if body.note else "")
    contract.end_on, contract.renewed_on = body.end_on, today
    contract.renewal_count += 1
    for reminder in await reminders_of(session, contract_id=contract.id):
        await session.delete(reminder)
    session.add(_trail(contract, "renewal", actor=actor, note=note, now=now))
    contract.version += 1
    contract.updated_at = now
    await session.flush()
    await _audit(session, contract, "contract.renewed", before, actor=actor, now=now)
    await settle_alerts(
        session,
        account_id=contract.account_id,
        signal_type="contract_expiry",
        subject_id=contract.id,
        reason=f"renewed to {body.end_on}",
        publisher=publisher,
        now=now,
    )
    return contract


async def terminate_contract(
    session: AsyncSession,
    *,
    contract: Contract,
    body: ContractTerminate,
    actor: Principal,
    publisher: Publisher,
    now: datetime,
) -> Contract:
    """End an approved contract (``terminated``, with the date and reason): no more reminders, and its
    contract-expiry alert clears itself."""
    _require_approved(contract, "terminated")
    if body.terminated_on < contract.start_on:
        raise Unprocessable("terminated_on is before start_on", field="terminated_on")
    before = snapshot(contract, CONTRACT_AUDIT)
    contract.status, contract.terminated_on, contract.termination_reason = "terminated", body.terminated_on, body.reason
    session.add(_trail(contract, "termination", actor=actor, note=body.reason, now=now, before="approved"))
    contract.version += 1
    contract.updated_at = now
    await session.flush()
    await _audit(session, contract, "contract.terminated", before, actor=actor, now=now)
    await settle_alerts(
        session,
        account_id=contract.account_id,
        signal_type="contract_expiry",
        subject_id=contract.id,
        reason=f"terminated on {body.terminated_on}",
        publisher=publisher,
        now=now,
    )
    return contract


async def amendments_of(session: AsyncSession, *, contract_id: str) -> list[ContractAmendment]:
    """The versions of a contract's terms after approval, oldest first."""
    rows = await session.execute(
        select(ContractAmendment)
        .where(ContractAmendment.contract_id == contract_id)
        .order_by(ContractAmendment.terms_version)
    )
    return list(rows.scalars())


async def reviews_of(session: AsyncSession, *, contract_id: str, action: str | None = None) -> list[ContractReview]:
    """The review trail of a contract, oldest first (``action``: only entries of that kind, e.g. transitions)."""
    stmt = select(ContractReview).where(ContractReview.contract_id == contract_id)
    if action is not None:
        stmt = stmt.where(ContractReview.action == action)
    rows = await session.execute(stmt.order_by(ContractReview.at))
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
    """``risk.contract_expiring`` for one reminder stage; ``owner_id`` is the contract's owner, else the account's
    owner (projection) — the notifications service routes it to them."""
    assert contract.end_on is not None
    accounts = platform.accounts
    owner_id = contract.owner_id or await session.scalar(
        select(accounts.c.owner_id).where(accounts.c.account_id == contract.account_id)
    )
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
