"""Credit domain on a real SQLite session, no HTTP: limits (maker-checker), the credit check, orders, assessments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from services.risk.credit import receivables, service
from services.risk.credit.models import LimitRequest, SalesOrder
from services.risk.credit.profiles import effective_limit, get_profile
from services.risk.credit.receivables import ORDER_TRANSITIONS
from services.risk.credit.schemas import (
    AssessmentCreate,
    CreditCheckCreate,
    InvoiceCreate,
    LimitDecision,
    LimitRequestCreate,
    OrderRelease,
)
from services.risk.credit.service import LIMIT_REQUEST_TRANSITIONS
from shared.errors import Forbidden, InvalidTransition
from tests.risk.support import START, TODAY, Domain, actor, published, put_account

MAKER = actor("risk-chen")
CHECKER = actor("risk-liu")
MANAGER = actor("am-li", "account_manager")


async def _with_limit(session, domain: Domain, account_id: str, amount: str, **kw) -> LimitRequest:
    body = LimitRequestCreate(requested_limit=Decimal(amount), reason="测试 test", **kw)
    request = await service.request_limit_change(
        session, account_id=account_id, body=body, actor=MAKER, publisher=domain.publisher, now=START, today=TODAY
    )
    return await service.decide_limit_request(
        session,
        request=request,
        approve=True,
        body=LimitDecision(),
        actor=CHECKER,
        publisher=domain.publisher,
        now=START,
        today=TODAY,
    )


async def _check(session, domain: Domain, account_id: str, amount: str, **kw):
    body = CreditCheckCreate(amount=Decimal(amount), **kw)
    check = await receivables.check_order(
        session, account_id=account_id, body=body, actor=MANAGER, publisher=domain.publisher, now=START, today=TODAY
    )
    return check.result, check.order


async def _invoice(session, domain: Domain, account_id: str, number: str, amount: str, due_on: date) -> None:
    body = InvoiceCreate(number=number, amount=Decimal(amount), issued_on=due_on - timedelta(days=30), due_on=due_on)
    await receivables.add_invoice(
        session, account_id=account_id, body=body, publisher=domain.publisher, now=START, today=TODAY
    )


async def test_the_credit_check_passes_warns_and_blocks_against_the_limit_in_force(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "宁德时代")
        no_limit, order = await _check(session, domain, account_id, "1", record=False)
        assert (no_limit.decision, [r["code"] for r in no_limit.reasons]) == ("block", ["no_credit_limit"])
        assert order is None
        await _with_limit(session, domain, account_id, "10000")

        passed, order = await _check(session, domain, account_id, "5000", order_reference="SO-1")
        assert (passed.decision, passed.reasons, order.status) == ("pass", [], "open")
        # 5000 open + 4000 = 90 % of the limit: warned, and the order still counts as exposure.
        warned, order = await _check(session, domain, account_id, "4000", order_reference="SO-2")
        assert (warned.decision, [r["code"] for r in warned.reasons]) == ("warn", ["high_utilisation"])
        assert (warned.utilisation_after_pct, order.status) == (Decimal("90.00"), "open")
        blocked, order = await _check(session, domain, account_id, "1001", order_reference="SO-3")
        assert (blocked.decision, [r["code"] for r in blocked.reasons]) == ("block", ["static_exposure_exceeds_limit"])
        assert (blocked.static_exposure, order.status) == (Decimal("9000"), "blocked")
        summary = await receivables.exposure_summary(session, account_id=account_id, today=START.date())
        assert (summary["open_orders"], summary["utilisation_pct"]) == (Decimal("9000.0000"), Decimal("90.00"))


async def test_overdue_receivables_warn_and_more_than_90_days_overdue_blocks(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "比亚迪")
        await _with_limit(session, domain, account_id, "100000")
        await _invoice(session, domain, account_id, "I-1", "100", START.date() - timedelta(days=10))
        warned, _ = await _check(session, domain, account_id, "1", record=False)
        assert [r["code"] for r in warned.reasons] == ["overdue_receivables"]
        await _invoice(session, domain, account_id, "I-2", "100", START.date() - timedelta(days=91))
        blocked, _ = await _check(session, domain, account_id, "1", record=False)
        assert (blocked.decision, [r["code"] for r in blocked.reasons]) == ("block", ["overdue_beyond_limit"])
        # The overdue invoices became signals, and the oldest one's signal raised a red receivables alert.
        events = await published(session, "risk.alert_raised")
        assert [e["data"]["level"] for e in events if e["data"]["rule_code"] == "RECEIVABLES_OVERDUE"] == [
            "yellow",
            "red",
        ]


def test_the_limit_request_lifecycle_is_exactly_this():
    expected = {
        "pending": ("approved", "rejected", "withdrawn"),  # withdrawn: by its maker only
        "approved": (),
        "rejected": (),
        "withdrawn": (),
    }
    assert expected == LIMIT_REQUEST_TRANSITIONS


@pytest.mark.parametrize("current", ["pending", "approved", "rejected"])
@pytest.mark.parametrize("approve", [True, False])
async def test_every_limit_decision_is_accepted_only_from_where_the_lifecycle_allows(domain, current, approve):
    allowed = {"pending": {"approved", "rejected"}, "approved": set(), "rejected": set()}
    target = "approved" if approve else "rejected"
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "美的集团")
        body = LimitRequestCreate(requested_limit=Decimal(500), reason="x")
        request = await service.request_limit_change(
            session, account_id=account_id, body=body, actor=MAKER, publisher=domain.publisher, now=START, today=TODAY
        )
        request.status = current
        decide = service.decide_limit_request(
            session,
            request=request,
            approve=approve,
            body=LimitDecision(note="n"),
            actor=CHECKER,
            publisher=domain.publisher,
            now=START,
            today=TODAY,
        )
        if target in allowed[current]:
            assert (await decide).status == target
        else:
            with pytest.raises(InvalidTransition):
                await decide
            assert request.status == current


async def test_the_maker_cannot_decide_and_an_approval_applies_the_limit_with_one_event(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "海尔")
        body = LimitRequestCreate(requested_limit=Decimal("5000000"), reason="续签")
        request = await service.request_limit_change(
            session, account_id=account_id, body=body, actor=MAKER, publisher=domain.publisher, now=START, today=TODAY
        )
        with pytest.raises(Forbidden):
            await service.decide_limit_request(
                session,
                request=request,
                approve=True,
                body=LimitDecision(),
                actor=MAKER,
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )
        assert request.status == "pending"
        assert (await get_profile(session, account_id=account_id)).credit_limit is None
        await service.decide_limit_request(
            session,
            request=request,
            approve=True,
            body=LimitDecision(note="财报良好"),
            actor=CHECKER,
            publisher=domain.publisher,
            now=START,
            today=TODAY,
        )
        profile = await get_profile(session, account_id=account_id)
        assert effective_limit(profile, START.date()) == Decimal("5000000")
        [event] = await published(session, "risk.credit_limit_changed")
        assert (event["source"], event["account_id"], event["data"]["approved_by"]) == ("risk", account_id, "risk-liu")
        assert event["time"] == "2026-03-15T09:00:00Z"  # the publisher's clock, not the wall clock


async def test_a_temporary_limit_overrides_until_the_watch_expires_it(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "立讯精密")
        await _with_limit(session, domain, account_id, "1000")
        await _with_limit(session, domain, account_id, "3000", kind="temporary", expires_on=date(2026, 3, 31))
        profile = await get_profile(session, account_id=account_id)
        assert effective_limit(profile, date(2026, 3, 31)) == Decimal(3000)
        assert effective_limit(profile, date(2026, 4, 1)) == Decimal(1000)
        later = START + timedelta(days=17)
        expired = await service.expire_temporary_limits(
            session, publisher=domain.publisher, now=later, today=later.date()
        )
        assert expired == [account_id]
        assert (profile.temporary_limit, profile.temporary_limit_expires_on) == (None, None)
        changes = [e["data"] for e in await published(session, "risk.credit_limit_changed")]
        assert (changes[-1]["old_limit"], changes[-1]["new_limit"], changes[-1]["approved_by"]) == (
            "3000.0000",
            "1000.0000",
            None,
        )


def test_the_order_lifecycle_is_exactly_this():
    expected = {
        "open": ("closed", "cancelled"),
        "blocked": ("released", "rejected", "cancelled"),
        "released": ("closed", "cancelled"),
        "rejected": (),
        "cancelled": (),
        "closed": (),
    }
    assert expected == ORDER_TRANSITIONS


@pytest.mark.parametrize("current", ["open", "blocked", "released", "closed"])
@pytest.mark.parametrize("target", ["released", "closed"])
async def test_every_order_move_is_accepted_only_from_where_the_lifecycle_allows(domain, current, target):
    allowed = {"open": {"closed"}, "blocked": {"released"}, "released": {"closed"}, "closed": set()}
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "潍柴动力")
        _, order = await _check(session, domain, account_id, "10", order_reference="SO")  # no limit: blocked
        order.status = current
        if target == "released":
            move = receivables.release_order(
                session,
                order=order,
                body=OrderRelease(reason="r"),
                actor=CHECKER,
                publisher=domain.publisher,
                now=START,
                today=TODAY,
            )
        else:
            move = receivables.close_order(session, order=order)
        if target in allowed[current]:
            assert (await move).status == target
        else:
            with pytest.raises(InvalidTransition):
                await move
            assert order.status == current


async def test_a_released_order_counts_as_exposure_and_keeps_who_released_it_and_why(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "三一重工")
        await _with_limit(session, domain, account_id, "100")
        _, order = await _check(session, domain, account_id, "150", order_reference="SO-9")
        assert order.status == "blocked"
        before = await receivables.exposure_summary(session, account_id=account_id, today=START.date())
        assert before["open_orders"] == Decimal("0.0000")
        released: SalesOrder = await receivables.release_order(
            session,
            order=order,
            body=OrderRelease(reason="客户已付款"),
            actor=CHECKER,
            publisher=domain.publisher,
            now=START,
            today=TODAY,
        )
        assert (released.released_by, released.release_reason) == ("risk-liu", "客户已付款")
        after = await receivables.exposure_summary(session, account_id=account_id, today=START.date())
        assert (after["exposure"], after["over_limit"]) == (Decimal("150.0000"), True)


async def test_an_assessment_derives_payment_behaviour_grades_the_profile_and_publishes(domain: Domain):
    async with domain.db.transaction() as session:
        account_id = await put_account(session, "中兴通讯")
        await _invoice(session, domain, account_id, "A1", "1000", START.date() - timedelta(days=30))
        body = AssessmentCreate(debt_ratio=Decimal("0.5"), external_rating="BBB")
        assessment = await service.assess_credit(
            session, account_id=account_id, body=body, actor=MAKER, publisher=domain.publisher, now=START, today=TODAY
        )
        assert assessment.inputs["days_past_due"] == "30"
        assert (assessment.score, assessment.grade, assessment.assessed_by) == (Decimal("47.81"), "D", "risk-chen")
        profile = await get_profile(session, account_id=account_id)
        assert (profile.grade, profile.risk_class) == ("D", "high")
        [event] = await published(session, "risk.credit_assessed")
        assert (event["data"]["grade"], event["data"]["score"]) == ("D", "47.81")
