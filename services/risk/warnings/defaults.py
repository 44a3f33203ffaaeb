"""The early-warning rules and contingency plans a fresh installation starts with (both editable by API)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
        "min_amount": Decimal("10000"),  # a month below 10 000 CNY before the drop does not raise
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
    {
        "code": "CREDIT_DOWNGRADE",
        "name": "信用评级下调 Credit downgrade",
        "signal_type": "credit_downgrade",
        "conditions": [  # the grade moved down to: D 4, E 5 (a downgrade to B or C raises nothing)
            {"operator": "gte", "threshold": "4", "level": "orange"},
            {"operator": "gte", "threshold": "5", "level": "red"},
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
        {
            "title": "暂停发货并启动法律催收 Hold deliveries and start legal collection",
            "owner": "supervisor",
            "due_in_days": 3,
            "level": "red",
        },
    ],
    "credit_utilisation": [
        {"title": "复核额度与在途订单 Review the limit and open orders", "owner": "risk_officer", "due_in_days": 3},
    ],
}
