"""Pure domain rules: credit codes, yearly figures from monthly actuals, strategy and white space, cadence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from services.scoring.engagement.cadence import DEFAULT_CADENCE, cadence_status
from services.scoring.features import cooperation_years, growth_pct, summarise_actuals
from services.scoring.registry.credit_code import credit_code_problem
from services.scoring.strategy import recommend_strategy, white_space

D = Decimal


@pytest.mark.parametrize("code", ["91350100M000100Y43", "914403001922038216", "91110000802100433B"])
def test_real_unified_social_credit_codes_are_valid(code):
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("914403001922038217", "check digit"),
        ("91440300192203821", "18 characters"),
        ("91440300192203821I", "not allowed"),
    ],
)
def test_malformed_credit_codes_say_what_is_wrong(code, fragment):
    problem = credit_code_problem(code)
    assert problem is not None and fragment in problem


def test_yearly_figures_come_from_the_last_twelve_months_and_the_twelve_before():
    months = [
        ("2026-11", D(100), D(30), {"工业网关": D(60), "运维服务": D(40)}),
        ("2025-12", D(50), D(10), {"PLC控制器": D(50)}),
        ("2025-11", D(80), D(20), {"SCADA软件": D(80)}),  # 12 months back: previous year
        ("2024-11", D(999), D(1), {}),  # 24 months back: ignored
        ("2026-06", D(0), D(0), {"工业云平台": D(0)}),  # a month with nothing bought
    ]
    summary = summarise_actuals(months, current_period="2026-11")
    assert summary.annual_purchases == D(150)
    assert summary.annual_profit == D(40)
    assert summary.previous_year_purchases == D(80)
    assert summary.active_months == 2
    assert summary.product_lines == ["PLC控制器", "工业网关", "运维服务"]
    assert growth_pct(summary.annual_purchases, summary.previous_year_purchases) == D("87.50")
    assert growth_pct(D(10), D(0)) is None
    assert cooperation_years(date(2020, 11, 15), date(2026, 11, 15)) == D("6.0")


def test_white_space_lists_offered_lines_not_bought_in_catalogue_order():
    offered = ["工业网关", "智能传感器", "PLC控制器", "SCADA软件"]
    assert white_space(offered, ["PLC控制器", "其他"]) == ["工业网关", "智能传感器", "SCADA软件"]


def test_strategy_follows_tier_and_position():
    leader = recommend_strategy(
        tier="strategic",
        industry_leadership=D(9),
        revenue_growth=D(5),
        expected_growth=None,
        missing_lines=["工业网关"],
    )
    growing = recommend_strategy(
        tier="growth", industry_leadership=D(4), revenue_growth=D(35), expected_growth=None, missing_lines=[]
    )
    stable = recommend_strategy(
        tier="key", industry_leadership=D(5), revenue_growth=D(3), expected_growth=D(5), missing_lines=[]
    )
    low = recommend_strategy(
        tier="maintain", industry_leadership=None, revenue_growth=D(40), expected_growth=None, missing_lines=[]
    )
    assert leader.code == "strategic_partnership" and "交叉销售: 工业网关" in leader.actions
    assert growing.code == "fast_penetration"
    assert stable.code == "maintain_efficiently"
    assert low.code == "serve_at_lower_cost"


def test_no_executive_contact_within_the_tier_period_is_overdue():
    today = date(2026, 11, 15)
    recent = {"executive": date(2026, 9, 1), "decision": date(2026, 11, 1), "execution": date(2026, 11, 10)}
    on_time = cadence_status("strategic", DEFAULT_CADENCE, recent, today)
    late = cadence_status("strategic", DEFAULT_CADENCE, {**recent, "executive": date(2026, 8, 1)}, today)
    never = cadence_status("key", DEFAULT_CADENCE, {}, today)
    assert not any(s.overdue for s in on_time)
    executive = late[0]
    assert executive.level == "executive" and executive.overdue
    assert executive.due_on == date(2026, 10, 30) and executive.days_overdue == 16
    assert all(s.overdue and s.days_overdue is None for s in never)
    assert [s.level for s in cadence_status("maintain", DEFAULT_CADENCE, {}, today)] == ["execution"]
