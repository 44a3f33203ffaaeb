"""Rule conditions → level, the alert lifecycle, and the period arithmetic behind sales-drop signals."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.risk.warnings.defaults import DEFAULT_RULES
from services.risk.warnings.early_warning import (
    check_alert_transition,
    concentration_pct,
    evaluate_conditions,
    next_period,
    parse_conditions,
    previous_period,
    sales_drop_pct,
    trailing_periods,
)
from shared.errors import InvalidTransition


def rule(code: str):
    return parse_conditions(next(r for r in DEFAULT_RULES if r["code"] == code)["conditions"])


def test_the_most_severe_matching_condition_sets_the_level():
    sales = rule("SALES_DROP")
    assert evaluate_conditions(sales, D("19.99")) is None
    assert evaluate_conditions(sales, D("20")) == "yellow"
    assert evaluate_conditions(sales, D("40")) == "orange"
    assert evaluate_conditions(sales, D("75")) == "red"


def test_lower_is_worse_conditions_work_for_contract_expiry():
    expiry = rule("CONTRACT_EXPIRY")
    assert evaluate_conditions(expiry, D(91)) is None
    assert evaluate_conditions(expiry, D(90)) == "green"
    assert evaluate_conditions(expiry, D(45)) == "yellow"
    assert evaluate_conditions(expiry, D(30)) == "orange"


def test_unknown_operators_and_levels_are_refused():
    with pytest.raises(ValueError, match="operator"):
        parse_conditions([{"operator": "approx", "threshold": 1, "level": "red"}])
    with pytest.raises(ValueError, match="level"):
        parse_conditions([{"operator": "gt", "threshold": 1, "level": "purple"}])


def test_alert_lifecycle_allows_only_forward_moves():
    check_alert_transition("raised", "acknowledged")
    check_alert_transition("acknowledged", "mitigating")
    check_alert_transition("mitigating", "cleared")
    check_alert_transition("raised", "cleared")
    with pytest.raises(InvalidTransition) as err:
        check_alert_transition("raised", "mitigating")
    assert err.value.status == 409
    assert err.value.extra == {"current": "raised", "allowed": ["acknowledged", "cleared"]}
    with pytest.raises(InvalidTransition) as err:
        check_alert_transition("cleared", "acknowledged")
    assert err.value.extra["allowed"] == []


def test_periods_step_across_year_ends():
    assert previous_period("2026-01") == "2025-12"
    assert previous_period("2026-10") == "2026-09"
    assert next_period("2026-12") == "2027-01"
    assert trailing_periods("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]
    assert len(trailing_periods("2026-02")) == 12


def test_sales_drop_and_concentration_percentages():
    assert sales_drop_pct(D("200"), D("130")) == D("35.00")
    assert sales_drop_pct(D("200"), D("250")) == D("-25.00")
    assert sales_drop_pct(D("0"), D("10")) is None
    assert concentration_pct(D("1"), D("3")) == D("33.33")
    assert concentration_pct(D("1"), D("0")) is None
