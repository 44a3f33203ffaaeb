"""Early-warning arithmetic: rule conditions → level, alert lifecycle, sales drop and concentration (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from shared.errors import InvalidTransition

Level = Literal["green", "yellow", "orange", "red"]
LEVELS: tuple[str, ...] = ("green", "yellow", "orange", "red")
OPERATORS = ("gt", "gte", "lt", "lte", "eq")

# Signal types and what their value means.
SIGNAL_TYPES: dict[str, str] = {
    "financial_deterioration": "severity 1–5, entered or imported",
    "industry_policy": "impact 1–5 of an industry policy change",
    "complaint_escalation": "escalation level of a complaint",
    "sales_drop": "drop of monthly revenue versus the previous month, in %",
    "revenue_concentration": "the account's share of our revenue over the last 12 months, in %",
    "contract_expiry": "days until a contract expires",
    "receivables_overdue": "days past due of an open invoice (recorded as it enters each aging bucket)",
    "credit_utilisation": "exposure ÷ credit limit in force, in %",
}

# Alert lifecycle: raised → acknowledged → mitigating → cleared (a false alarm may be cleared at once).
ALERT_TRANSITIONS: dict[str, tuple[str, ...]] = {
    "raised": ("acknowledged", "cleared"),
    "acknowledged": ("mitigating", "cleared"),
    "mitigating": ("cleared",),
    "cleared": (),
}
OPEN_ALERT_STATUSES: tuple[str, ...] = ("raised", "acknowledged", "mitigating")


@dataclass(frozen=True)
class Condition:
    """``value <operator> threshold`` gives ``level``."""

    operator: str
    threshold: Decimal
    level: Level

    def holds(self, value: Decimal) -> bool:
        """Whether ``value`` meets the condition."""
        t = self.threshold
        return {
            "gt": value > t,
            "gte": value >= t,
            "lt": value < t,
            "lte": value <= t,
            "eq": value == t,
        }[self.operator]


def level_rank(level: str) -> int:
    """green 0 … red 3."""
    return LEVELS.index(level)


def evaluate_conditions(conditions: Sequence[Condition], value: Decimal) -> str | None:
    """The most severe level whose condition holds, or None."""
    matched: list[str] = [c.level for c in conditions if c.holds(value)]
    return max(matched, key=level_rank) if matched else None


def parse_conditions(raw: Sequence[dict[str, Any]]) -> list[Condition]:
    """Conditions from their stored/submitted form; ValueError on an unknown operator or level."""
    conditions = []
    for item in raw:
        if item["operator"] not in OPERATORS:
            raise ValueError(f"unknown operator {item['operator']!r}; allowed: {', '.join(OPERATORS)}")
        if item["level"] not in LEVELS:
            raise ValueError(f"unknown level {item['level']!r}; allowed: {', '.join(LEVELS)}")
        conditions.append(Condition(item["operator"], Decimal(str(item["threshold"])), item["level"]))
    return conditions


def check_alert_transition(current: str, target: str) -> None:
    """Raise InvalidTransition (409, with the allowed targets) unless ``current → target`` is allowed."""
    allowed = ALERT_TRANSITIONS.get(current, ())
    if target not in allowed:
        raise InvalidTransition(
            f"An alert cannot go from {current} to {target}", current=current, allowed=list(allowed)
        )


def current_period(now: datetime) -> str:
    """The running month, ``YYYY-MM`` (its revenue total is still partial)."""
    return f"{now.year}-{now.month:02d}"


def previous_period(period: str) -> str:
    """``2026-03`` → ``2026-02`` (``2026-01`` → ``2025-12``)."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


def next_period(period: str) -> str:
    """``2026-12`` → ``2027-01``."""
    year, month = (int(p) for p in period.split("-"))
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def trailing_periods(period: str, months: int = 12) -> list[str]:
    """The ``months`` periods ending with ``period`` (oldest first)."""
    periods = [period]
    for _ in range(months - 1):
        periods.append(previous_period(periods[-1]))
    return periods[::-1]


def sales_drop_pct(previous: Decimal, current: Decimal) -> Decimal | None:
    """How much revenue fell versus the previous period, in % (None when there is no previous revenue)."""
    if previous <= 0:
        return None
    return ((previous - current) * 100 / previous).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def concentration_pct(account_revenue: Decimal, total_revenue: Decimal) -> Decimal | None:
    """An account's share of the total, in % (None when the total is not positive)."""
    if total_revenue <= 0:
        return None
    return (account_revenue * 100 / total_revenue).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# Rules and contingency plans a fresh installation starts with (both editable through the API).
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "code": "FINANCIAL_DETERIORATION",
        "name": "财务状况恶化 Financial deterioration",
        "signal_type": "financial_deterioration",
        "conditions": [
            {"operator": "gte", "threshold": "2", "level": "yellow"},
            {"operator": "gte", "threshold": "3", "level": "orange"},
            {"operator": "gte", "threshold": "4", "level": "red"},
        ],
    },
    {
        "code": "INDUSTRY_POLICY",
        "name": "行业政策变化 Industry policy change",
        "signal_type": "industry_policy",
        "conditions": [
            {"operator": "gte", "threshold": "1", "level": "yellow"},
            {"operator": "gte", "threshold": "3", "level": "orange"},
            {"operator": "gte", "threshold": "5", "level": "red"},
        ],
    },
    {
        "code": "RELATIONSHIP_RISK",
        "name": "客诉升级 Relationship risk (complaint escalated)",
        "signal_type": "complaint_escalation",
        "conditions": [
            {"operator": "gte", "threshold": "1", "level": "orange"},
            {"operator": "gte", "threshold": "2", "level": "red"},
        ],
    },
    {
        "code": "SALES_DROP",
        "name": "销售下滑 Sales drop period over period",
        "signal_type": "sales_drop",
        "conditions": [
            {"operator": "gte", "threshold": "20", "level": "yellow"},
            {"operator": "gte", "threshold": "35", "level": "orange"},
            {"operator": "gte", "threshold": "50", "level": "red"},
        ],
    },
    {
        "code": "REVENUE_CONCENTRATION",
        "name": "收入集中度 Revenue concentration",
        "signal_type": "revenue_concentration",
        "conditions": [
            {"operator": "gte", "threshold": "30", "level": "yellow"},
            {"operator": "gte", "threshold": "45", "level": "orange"},
            {"operator": "gte", "threshold": "60", "level": "red"},
        ],
    },
    {
        "code": "CONTRACT_EXPIRY",
        "name": "合同即将到期 Contract nearing expiry",
        "signal_type": "contract_expiry",
        "conditions": [
            {"operator": "lte", "threshold": "90", "level": "green"},
            {"operator": "lte", "threshold": "60", "level": "yellow"},
            {"operator": "lte", "threshold": "30", "level": "orange"},
        ],
    },
    {
        "code": "RECEIVABLES_OVERDUE",
        "name": "应收逾期 Receivables overdue",
        "signal_type": "receivables_overdue",
        "conditions": [
            {"operator": "gte", "threshold": "1", "level": "yellow"},
            {"operator": "gte", "threshold": "31", "level": "orange"},
            {"operator": "gte", "threshold": "91", "level": "red"},
        ],
    },
    {
        "code": "CREDIT_UTILISATION",
        "name": "额度占用过高 Credit utilisation high",
        "signal_type": "credit_utilisation",
        "conditions": [
            {"operator": "gte", "threshold": "90", "level": "yellow"},
            {"operator": "gt", "threshold": "100", "level": "orange"},
            {"operator": "gte", "threshold": "120", "level": "red"},
        ],
    },
)

DEFAULT_PLANS: dict[str, list[dict[str, Any]]] = {
    "financial_deterioration": [
        {
            "title": "复核财务报表并重新评估信用 Review financials and reassess credit",
            "owner": "risk_officer",
            "due_in_days": 3,
        },
        {
            "title": "收紧付款条件或要求担保 Tighten payment terms or ask for collateral",
            "owner": "account_owner",
            "due_in_days": 7,
        },
    ],
    "industry_policy": [
        {
            "title": "评估政策对客户业务的影响 Assess the policy's impact on the account",
            "owner": "account_owner",
            "due_in_days": 7,
        },
        {"title": "调整信用额度与合同条款 Adjust limit and contract terms", "owner": "risk_officer", "due_in_days": 14},
    ],
    "complaint_escalation": [
        {
            "title": "高层拜访修复关系 Executive visit to repair the relationship",
            "owner": "account_owner",
            "due_in_days": 2,
        },
        {"title": "复盘投诉根因 Review the complaint's root cause", "owner": "account_owner", "due_in_days": 7},
    ],
    "sales_drop": [
        {"title": "分析下滑原因 Analyse why sales dropped", "owner": "account_owner", "due_in_days": 5},
        {"title": "制定挽回计划 Win-back plan with the customer", "owner": "account_owner", "due_in_days": 14},
    ],
    "revenue_concentration": [
        {"title": "评估依赖度并拓展其他客户 Assess dependency and diversify", "owner": "supervisor", "due_in_days": 30},
    ],
    "contract_expiry": [
        {"title": "启动续约谈判 Start renewal negotiation", "owner": "account_owner", "due_in_days": 14},
    ],
    "receivables_overdue": [
        {"title": "催收并确认付款计划 Collection call and payment plan", "owner": "account_owner", "due_in_days": 2},
        {"title": "评估是否暂停发货 Decide whether to hold deliveries", "owner": "risk_officer", "due_in_days": 5},
    ],
    "credit_utilisation": [
        {"title": "复核额度与在途订单 Review the limit and open orders", "owner": "risk_officer", "due_in_days": 3},
    ],
}
