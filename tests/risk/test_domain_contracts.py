"""Contracts domain on a real SQLite session, no HTTP: the review workflow, mandatory clauses, expiry reminders."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from services.risk.contracts import service
from services.risk.contracts.compliance import CLAUSES, CONTRACT_TRANSITIONS
from services.risk.contracts.models import Contract
from services.risk.contracts.schemas import ContractCreate, ContractTransition, ContractUpdate
from services.risk.warnings.models import Alert
from shared.errors import Conflict, InvalidTransition
from tests.risk.support import START, TODAY, Domain, actor, published, put_account

LI = actor("am-li", "account_manager")
OFFICER = actor("risk-chen")
CONTRACT_STATUSES = ("draft", "legal_review", "approved", "rejected")


async def _draft(session, account_id: str, *, clauses: dict[str, bool], end_on: date | None = None, kind="service"):
    body = ContractCreate(
        title="云服务合同", contract_type=kind, start_on=date(2026, 1, 1), end_on=end_on, clauses=clauses
    )
    return await service.create_contract(session, account_id=account_id, body=body, actor=LI, now=START)


async def _move(session, contract: Contract, status: str, note: str = "") -> Contract:
    body = ContractTransition(status=status, note=note)
    return await service.transition_contract(session, contract=contract, body=body, actor=OFFICER, now=START)


async def test_a_contract_missing_a_mandatory_clause_cannot_be_approved_until_the_clause_is_ticked(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "腾讯云")
        contract = await _draft(session, account_id, clauses={c: c != "data_protection" for c in CLAUSES})
        await _move(session, contract, "legal_review")
        with pytest.raises(Conflict) as refused:
            await _move(session, contract, "approved", note="looks fine")
        assert refused.value.extra == {"missing_clauses": ["data_protection"]}
        assert (contract.status, contract.version) == ("legal_review", 2)

        await _move(session, contract, "rejected", note="缺少个人信息保护条款")
        await _move(session, contract, "draft")
        await service.update_contract(
            session, contract=contract, body=ContractUpdate(clauses={"data_protection": True}), now=START, actor=LI
        )
        assert contract.clauses["data_protection"] is True
        await _move(session, contract, "legal_review")
        await _move(session, contract, "approved", note="条款齐全")
        trail = await service.reviews_of(session, contract_id=contract.id, action="transition")
        assert [(r.from_status, r.to_status, r.reviewer_id) for r in trail][-2:] == [
            ("draft", "legal_review", "risk-chen"),
            ("legal_review", "approved", "risk-chen"),
        ]
        with pytest.raises(Conflict):
            await service.update_contract(
                session, contract=contract, body=ContractUpdate(title="x"), now=START, actor=LI
            )


async def test_an_nda_needs_only_its_own_clauses(domain: Domain):
    nda_clauses = ("rights_obligations", "confidentiality", "data_protection", "termination", "dispute_resolution")
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "华为")
        contract = await _draft(session, account_id, clauses=dict.fromkeys(nda_clauses, True), kind="nda")
        await _move(session, contract, "legal_review")
        assert (await _move(session, contract, "approved")).status == "approved"


def test_the_contract_review_workflow_is_exactly_this():
    expected = {
        "draft": ("legal_review",),
        "legal_review": ("approved", "rejected"),
        "rejected": ("draft",),
        "approved": (),
    }
    assert expected == CONTRACT_TRANSITIONS


@pytest.mark.parametrize("current", CONTRACT_STATUSES)
@pytest.mark.parametrize("target", CONTRACT_STATUSES)
async def test_every_contract_move_is_accepted_only_from_where_the_workflow_allows(domain, current, target):
    allowed = {
        "draft": {"legal_review"},
        "legal_review": {"approved", "rejected"},
        "rejected": {"draft"},
        "approved": set(),
    }
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "阿里巴巴")
        contract = await _draft(session, account_id, clauses=dict.fromkeys(CLAUSES, True))
        contract.status = current
        if target in allowed[current]:
            assert (await _move(session, contract, target)).status == target
        else:
            with pytest.raises(InvalidTransition):
                await _move(session, contract, target)
            trail = await service.reviews_of(session, contract_id=contract.id, action="transition")
            assert (contract.status, trail) == (current, [])


async def test_expiry_reminders_are_sent_once_per_stage_and_raise_the_contract_expiry_alert(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "京东")
        end = START.date() + timedelta(days=90)
        contract = await _draft(session, account_id, clauses=dict.fromkeys(CLAUSES, True), end_on=end)
        draft_reminders = await service.run_expiry_reminders(
            session, publisher=domain.publisher, now=START, today=TODAY
        )
        assert draft_reminders == []  # only approved contracts are reminded
        await _move(session, contract, "legal_review")
        await _move(session, contract, "approved")

        [first] = await service.run_expiry_reminders(session, publisher=domain.publisher, now=START, today=TODAY)
        assert (first.days_before, first.due_on) == (90, end - timedelta(days=90))
        assert await service.run_expiry_reminders(session, publisher=domain.publisher, now=START, today=TODAY) == []
        [second] = await service.run_expiry_reminders(
            session, publisher=domain.publisher, now=START + timedelta(days=31), today=TODAY + timedelta(days=31)
        )
        assert second.days_before == 60
        alert = (await session.execute(select(Alert).where(Alert.rule_code == "CONTRACT_EXPIRY"))).scalar_one()
        assert (alert.level, alert.signal_count) == ("yellow", 2)
        assert [e["data"]["level"] for e in await published(session, "risk.alert_raised")] == ["green", "yellow"]
        attention = service.attention_reason(contract, START.date())
        assert attention is not None and attention["reasons"] == ["expiring"]
