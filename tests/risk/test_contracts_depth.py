"""Contracts in depth: four eyes, clause ticks in the review trail, counterparty and signatories, amendments,
renewal and termination, document versions, reminders to the contract's owner."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.risk.contracts import documents
from services.risk.contracts import service as contracts
from services.risk.contracts.compliance import CLAUSES
from services.risk.contracts.schemas import (
    ContractAmend,
    ContractCreate,
    ContractRenew,
    ContractTerminate,
    ContractTransition,
    ContractUpdate,
)
from shared.errors import Conflict, Forbidden, Unprocessable
from tests.risk.support import START, TODAY, Domain, actor, add_account, make_app, published, put_account
from tests.support import auth, running

LI = actor("am-li", "account_manager")
CHEN = actor("risk-chen")
LIU = actor("risk-liu")
ADMIN = actor("admin-1", "admin")
ALL_CLAUSES = dict.fromkeys(CLAUSES, True)
RISK = auth("risk_officer", user_id="risk-chen")
AM_LI = auth("account_manager", user_id="am-li")
AM_ZHANG = auth("account_manager", user_id="am-zhang")
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"


async def _draft(session, account_id: str, who=LI, **fields):
    body = ContractCreate(
        title="年度框架协议",
        contract_type="framework",
        start_on=date(2026, 1, 1),
        end_on=fields.pop("end_on", TODAY + timedelta(days=200)),
        clauses=fields.pop("clauses", ALL_CLAUSES),
        **fields,
    )
    return await contracts.create_contract(session, account_id=account_id, body=body, actor=who, now=START)


async def _move(session, contract, status: str, who):
    body = ContractTransition(status=status, note="")
    return await contracts.transition_contract(session, contract=contract, body=body, actor=who, now=START)


@pytest.mark.parametrize("decider", [CHEN, ADMIN])
async def test_four_eyes_the_drafter_never_decides_their_own_contract(domain: Domain, decider):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "华为")
        contract = await _draft(session, account_id, who=decider)
        await _move(session, contract, "legal_review", decider)
        for decision in ("approved", "rejected"):
            with pytest.raises(Forbidden):
                await _move(session, contract, decision, decider)
        assert contract.status == "legal_review"
        with pytest.raises(Unprocessable) as named_self:
            await contracts.update_contract(
                session, contract=contract, body=ContractUpdate(approver_id=decider.user_id), now=START, actor=decider
            )
        assert named_self.value.extra["field"] == "approver_id"
        assert (await _move(session, contract, "approved", LIU)).status == "approved"


async def test_clause_ticks_are_booleans_kept_in_the_trail_with_who_ticked_them(domain: Domain):
    with pytest.raises(ValidationError):
        ContractUpdate(clauses={"confidentiality": "yes"})
    with pytest.raises(ValidationError):
        ContractUpdate(clauses={"confidentiality": 1})
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "联想")
        contract = await _draft(session, account_id, clauses={"confidentiality": True})
        body = ContractUpdate(clauses={"confidentiality": False, "termination": True, "ip_ownership": False})
        await contracts.update_contract(session, contract=contract, body=body, now=START, actor=CHEN)
        ticks = await contracts.reviews_of(session, contract_id=contract.id, action="clause")
        assert [(t.clause, t.present, t.reviewer_id) for t in ticks] == [
            ("confidentiality", True, "am-li"),
            ("confidentiality", False, "risk-chen"),
            ("termination", True, "risk-chen"),
        ]  # ip_ownership was not ticked before either: nothing changed, nothing kept


async def test_amendments_renewal_and_termination_keep_versions_states_and_dates(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "比亚迪")
        signatory = {"name": "王总", "title": "采购总监", "party": "counterparty", "signed_on": "2026-01-05"}
        contract = await _draft(
            session, account_id, counterparty="比亚迪股份有限公司", signatories=[signatory], value=Decimal(1000)
        )
        assert (contract.counterparty, contract.signatories) == ("比亚迪股份有限公司", [signatory])
        amend = ContractAmend(summary="涨价", effective_on=date(2026, 4, 1), value=Decimal(1200))
        with pytest.raises(Conflict):  # only an approved contract has terms to amend
            await contracts.amend_contract(session, contract=contract, body=amend, actor=CHEN, now=START)
        await _move(session, contract, "legal_review", LI)
        await _move(session, contract, "approved", CHEN)
        amendment = await contracts.amend_contract(session, contract=contract, body=amend, actor=CHEN, now=START)
        assert (amendment.terms_version, amendment.changes) == (
            2,
            {"value": {"before": "1000.0000", "after": "1200.0000"}},
        )
        drop = ContractAmend(summary="删除保密条款", effective_on=date(2026, 4, 1), clauses={"confidentiality": False})
        with pytest.raises(Conflict) as refused:
            await contracts.amend_contract(session, contract=contract, body=drop, actor=CHEN, now=START)
        assert refused.value.extra["missing_clauses"] == ["confidentiality"]

        end = contract.end_on
        with pytest.raises(Unprocessable):  # a renewal ends later than now
            await contracts.renew_contract(
                session,
                contract=contract,
                body=ContractRenew(end_on=end),
                actor=CHEN,
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )
        renewal = ContractRenew(end_on=end + timedelta(days=365), note="续约一年")
        await contracts.renew_contract(
            session, contract=contract, body=renewal, actor=CHEN, publisher=domain.publisher, now=START, today=TODAY
        )
        assert (contract.end_on, contract.renewed_on, contract.renewal_count) == (renewal.end_on, TODAY, 1)
        stop = ContractTerminate(terminated_on=date(2026, 6, 30), reason="客户业务调整")
        await contracts.terminate_contract(
            session, contract=contract, body=stop, actor=CHEN, publisher=domain.publisher, now=START
        )
        assert (contract.status, contract.terminated_on, contract.termination_reason) == (
            "terminated",
            date(2026, 6, 30),
            "客户业务调整",
        )
        trail = await contracts.reviews_of(session, contract_id=contract.id)
        assert [r.action for r in trail if r.action != "clause"] == [
            "transition",
            "transition",
            "amendment",
            "renewal",
            "termination",
        ]
        with pytest.raises(Conflict):  # terminated is final
            await contracts.renew_contract(
                session,
                contract=contract,
                body=renewal,
                actor=CHEN,
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )


async def test_reminders_reach_the_contract_owner_and_start_again_after_a_renewal(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "京东", owner_id="am-li")
        contract = await _draft(session, account_id, owner_id="risk-liu", end_on=TODAY + timedelta(days=30))
        await _move(session, contract, "legal_review", LI)
        await _move(session, contract, "approved", CHEN)
        await contracts.run_expiry_reminders(session, publisher=domain.publisher, now=START, today=TODAY)
        renewal = ContractRenew(end_on=TODAY + timedelta(days=60))
        await contracts.renew_contract(
            session, contract=contract, body=renewal, actor=CHEN, publisher=domain.publisher, now=START, today=TODAY
        )
        await contracts.run_expiry_reminders(session, publisher=domain.publisher, now=START, today=TODAY)
        sent = [(e["data"]["owner_id"], e["data"]["stage"]) for e in await published(session, "risk.contract_expiring")]
        assert sent == [("risk-liu", 30), ("risk-liu", 60)]  # not the account owner am-li


async def test_documents_are_versioned_checked_and_downloaded_with_access_checks(make_database, monkeypatch):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "腾讯", owner_id="am-li")
        created = await client.post(
            f"/risk/accounts/{account_id}/contracts",
            json={"title": "云服务合同", "contract_type": "service", "start_on": "2026-01-01"},
            headers=AM_LI,
        )
        assert created.status_code == 201, created.text
        url = f"/risk/contracts/{created.json()['id']}/documents"
        for n, content in enumerate((PDF, PDF + b"v2"), start=1):
            upload = await client.post(
                url, files={"file": (f"合同v{n}.pdf", content, "application/pdf")}, headers=AM_LI
            )
            assert upload.status_code == 201, upload.text
            assert (upload.json()["version"], upload.json()["size"]) == (n, len(content))
        refused = [
            ("a.exe", b"MZ\x90\x00", "application/octet-stream", 415),  # not an accepted type
            ("fake.pdf", b"<html>", "application/pdf", 415),  # declared a PDF, is not one
            ("empty.pdf", b"", "application/pdf", 422),
        ]
        for name, content, content_type, status in refused:
            answer = await client.post(url, files={"file": (name, content, content_type)}, headers=AM_LI)
            assert answer.status_code == status, answer.text
        monkeypatch.setattr(documents, "MAX_DOCUMENT_BYTES", len(PDF) - 1)
        too_big = await client.post(url, files={"file": ("big.pdf", PDF, "application/pdf")}, headers=AM_LI)
        assert too_big.status_code == 413
        listed = (await client.get(url, headers=RISK)).json()
        assert [d["version"] for d in listed] == [1, 2]
        first = await client.get(f"{url}/1", headers=AM_LI)
        assert (first.status_code, first.content, first.headers["content-type"]) == (200, PDF, "application/pdf")
        assert "attachment" in first.headers["content-disposition"]
        assert (await client.get(f"{url}/3", headers=AM_LI)).status_code == 404
        # Another manager's account: the contract and its documents are not there for them.
        assert (await client.get(f"{url}/1", headers=AM_ZHANG)).status_code == 404
        upload = await client.post(url, files={"file": ("x.pdf", PDF, "application/pdf")}, headers=AM_ZHANG)
        assert upload.status_code == 404
        detail = (await client.get(f"/risk/contracts/{created.json()['id']}", headers=RISK)).json()
        assert [d["version"] for d in detail["documents"]] == [1, 2]
        assert [r["action"] for r in detail["reviews"]].count("document") == 2
