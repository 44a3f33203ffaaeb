"""Aging, utilisation, payment behaviour and the credit check decision (pure arithmetic, hand-computed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from services.risk.credit.exposure import (
    OpenOrder,
    Receivable,
    aging,
    bucket_for,
    credit_check,
    payment_behaviour,
    utilisation_pct,
)

AS_OF = date(2026, 3, 31)


def receivables() -> list[Receivable]:
    # Due dates chosen so that each bucket edge is exercised (days past due in comments).
    return [
        Receivable(D("1000"), D("0"), date(2026, 4, 10)),  # not due → current
        Receivable(D("2000"), D("500"), date(2026, 3, 31)),  # 0 days → current, 1500 open
        Receivable(D("300"), D("0"), date(2026, 3, 30)),  # 1 → 1_30
        Receivable(D("400"), D("0"), date(2026, 3, 1)),  # 30 → 1_30
        Receivable(D("500"), D("0"), date(2026, 2, 28)),  # 31 → 31_60
        Receivable(D("600"), D("100"), date(2026, 1, 30)),  # 60 → 31_60, 500 open
        Receivable(D("700"), D("0"), date(2026, 1, 29)),  # 61 → 61_90
        Receivable(D("800"), D("0"), date(2025, 12, 31)),  # 90 → 61_90
        Receivable(D("900"), D("0"), date(2025, 12, 30)),  # 91 → over_90
        Receivable(D("5000"), D("5000"), date(2025, 6, 30)),  # fully paid: ignored
    ]


def test_bucket_edges_follow_the_day_counts():
    assert [bucket_for(d) for d in (-5, 0, 1, 30, 31, 60, 61, 90, 91)] == [
        "current",
        "current",
        "1_30",
        "1_30",
        "31_60",
        "31_60",
        "61_90",
        "61_90",
        "over_90",
    ]


def test_aging_buckets_match_hand_computed_figures():
    buckets = aging(receivables(), AS_OF)
    assert buckets == {
        "current": D("2500"),  # 1000 + 1500
        "1_30": D("700"),  # 300 + 400
        "31_60": D("1000"),  # 500 + 500
        "61_90": D("1500"),  # 700 + 800
        "over_90": D("900"),
        "total": D("6600"),
        "overdue": D("4100"),
    }


def test_utilisation_is_exposure_over_limit_in_percent():
    assert utilisation_pct(D("6600"), D("8000")) == D("82.50")
    assert utilisation_pct(D("1"), D("3")) == D("33.33")
    assert utilisation_pct(D("12000"), D("10000")) == D("120.00")
    assert utilisation_pct(D("100"), None) is None
    assert utilisation_pct(D("100"), D("0")) is None


def test_payment_behaviour_is_derived_from_receivables():
    recs = [
        Receivable(D("1000"), D("0"), date(2026, 3, 1), issued_on=date(2026, 1, 30)),  # 30 days overdue
        Receivable(D("3000"), D("0"), date(2026, 4, 30), issued_on=date(2026, 3, 31)),  # current
        Receivable(D("2000"), D("2000"), date(2026, 2, 1), issued_on=date(2026, 1, 2)),  # paid, billed in window
    ]
    metrics = payment_behaviour(recs, AS_OF)
    assert metrics["days_past_due"] == D(30)
    assert metrics["overdue_ratio"] == D("0.2500")  # 1000 of 4000 outstanding
    assert metrics["days_sales_outstanding"] == D("60.0")  # 4000 / 6000 billed × 90 days


def test_credit_check_passes_an_order_well_within_the_limit():
    result = credit_check(
        amount=D("1000"),
        limit=D("10000"),
        receivables=[Receivable(D("2000"), D("0"), date(2026, 4, 15))],
        open_orders=[OpenOrder(D("1000"))],
        as_of=AS_OF,
        grade="B",
    )
    assert result.decision == "pass"
    assert result.reasons == []
    assert result.static_exposure == D("3000")
    assert result.utilisation_after_pct == D("40.00")


def test_credit_check_blocks_when_static_exposure_would_exceed_the_limit():
    result = credit_check(
        amount=D("5001"),
        limit=D("10000"),
        receivables=[Receivable(D("4000"), D("0"), date(2026, 4, 15))],
        open_orders=[OpenOrder(D("1000"))],
        as_of=AS_OF,
    )
    assert result.decision == "block"
    assert [r["code"] for r in result.reasons] == ["static_exposure_exceeds_limit"]
    assert "10001" in result.reasons[0]["message"]


def test_credit_check_exactly_at_the_limit_warns_on_utilisation_but_does_not_block():
    result = credit_check(
        amount=D("5000"),
        limit=D("10000"),
        receivables=[Receivable(D("4000"), D("0"), date(2026, 4, 15))],
        open_orders=[OpenOrder(D("1000"))],
        as_of=AS_OF,
    )
    assert result.decision == "warn"
    assert [r["code"] for r in result.reasons] == ["high_utilisation"]


def test_credit_check_warns_on_overdue_receivables_and_blocks_beyond_ninety_days():
    overdue = [Receivable(D("100"), D("0"), date(2026, 3, 1))]  # 30 days
    warned = credit_check(amount=D("10"), limit=D("10000"), receivables=overdue, open_orders=[], as_of=AS_OF)
    assert warned.decision == "warn"
    assert [r["code"] for r in warned.reasons] == ["overdue_receivables"]
    very_late = [Receivable(D("100"), D("0"), date(2025, 12, 30))]  # 91 days
    blocked = credit_check(amount=D("10"), limit=D("10000"), receivables=very_late, open_orders=[], as_of=AS_OF)
    assert blocked.decision == "block"
    assert [r["code"] for r in blocked.reasons] == ["overdue_beyond_limit"]


def test_credit_check_blocks_without_a_limit_and_on_grade_e_and_warns_on_grade_d():
    no_limit = credit_check(amount=D("1"), limit=None, receivables=[], open_orders=[], as_of=AS_OF)
    assert no_limit.decision == "block"
    assert [r["code"] for r in no_limit.reasons] == ["no_credit_limit"]
    grade_e = credit_check(amount=D("1"), limit=D("100"), receivables=[], open_orders=[], as_of=AS_OF, grade="E")
    assert (grade_e.decision, [r["code"] for r in grade_e.reasons]) == ("block", ["credit_grade"])
    grade_d = credit_check(amount=D("1"), limit=D("100"), receivables=[], open_orders=[], as_of=AS_OF, grade="D")
    assert (grade_d.decision, [r["code"] for r in grade_d.reasons]) == ("warn", ["credit_grade"])


def test_dynamic_check_ignores_orders_beyond_the_horizon_but_warns_about_them():
    orders = [OpenOrder(D("3000"), expected_on=date(2026, 4, 10)), OpenOrder(D("4000"), expected_on=date(2026, 7, 1))]
    recs = [Receivable(D("2000"), D("0"), date(2026, 4, 20))]
    # Static: 2000 + 7000 + 2000 = 11000 > 10000; dynamic to 30 April: 2000 + 3000 + 2000 = 7000.
    result = credit_check(
        amount=D("2000"), limit=D("10000"), receivables=recs, open_orders=orders, as_of=AS_OF, horizon=date(2026, 4, 30)
    )
    assert result.decision == "warn"
    assert result.static_exposure == D("9000")
    assert result.dynamic_exposure == D("5000")
    assert [r["code"] for r in result.reasons] == ["static_exposure_exceeds_limit"]
    # A later horizon brings the July order in: 2000 + 7000 + 2000 = 11000 > 10000 → block.
    later = credit_check(
        amount=D("2000"), limit=D("10000"), receivables=recs, open_orders=orders, as_of=AS_OF, horizon=date(2026, 7, 31)
    )
    assert later.decision == "block"
    assert [r["code"] for r in later.reasons] == ["dynamic_exposure_exceeds_limit"]
