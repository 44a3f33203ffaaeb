"""Strategy per account (from tier and position) and white space (offered product lines not bought yet)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from shared.vocabulary import KEY_ACCOUNT_TIERS

LEADER_RATING = Decimal(8)
HIGH_GROWTH_PCT = Decimal(20)
HIGH_EXPECTED_GROWTH_PCT = Decimal(15)


@dataclass(frozen=True)
class Strategy:
    """A recommended approach with the reason it was chosen and concrete actions."""

    code: str
    title_zh: str
    title_en: str
    reason: str
    actions: list[str]


def white_space(offered: Sequence[str], bought: Iterable[str]) -> list[str]:
    """Offered product lines the account does not buy yet, in catalogue order."""
    have = set(bought)
    return [line for line in offered if line not in have]


def recommend_strategy(
    *,
    tier: str | None,
    industry_leadership: Decimal | None,
    revenue_growth: Decimal | None,
    expected_growth: Decimal | None,
    missing_lines: Sequence[str],
) -> Strategy:
    """Industry leaders → partnership; high growth → fast penetration; stable → maintain; low value → low cost."""
    cross_sell = [f"交叉销售: {line}" for line in missing_lines[:3]]
    is_leader = industry_leadership is not None and industry_leadership >= LEADER_RATING
    growing = (revenue_growth is not None and revenue_growth >= HIGH_GROWTH_PCT) or (
        expected_growth is not None and expected_growth >= HIGH_EXPECTED_GROWTH_PCT
    )
    if tier in KEY_ACCOUNT_TIERS and is_leader:
        return Strategy(
            "strategic_partnership",
            "战略合作与生态共建",
            "Strategic partnership and ecosystem building",
            f"{tier} account and industry leader (rating {industry_leadership})",
            [
                "高层战略对话, 每季度一次",
                "联合方案与生态合作 (行业标杆案例)",
                "从区域合作升级为全国性战略合作",
                *cross_sell,
            ],
        )
    if growing and tier != "maintain":
        return Strategy(
            "fast_penetration",
            "快速渗透与份额提升",
            "Fast penetration and share gain",
            f"high growth (purchases {revenue_growth if revenue_growth is not None else '—'} % a year, "
            f"expected {expected_growth if expected_growth is not None else '—'} %)",
            ["扩大产品组合, 提升份额", "专项资源支持新项目落地", *cross_sell],
        )
    if tier in KEY_ACCOUNT_TIERS or tier == "growth":
        return Strategy(
            "maintain_efficiently",
            "稳定维护, 提升效率",
            "Maintain efficiently",
            f"stable {tier} account",
            ["按节奏定期业务回顾", "满意度回访, 预防流失", *cross_sell],
        )
    return Strategy(
        "serve_at_lower_cost",
        "低成本服务",
        "Serve at lower cost",
        "low value relative to the portfolio",
        ["线上/渠道服务为主", "标准化产品与报价", "关注增长信号, 择机升级"],
    )
