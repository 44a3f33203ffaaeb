"""Strategy per account from a rule table (status, tier, quadrant, signals → a bilingual recommendation), the
default table, its validation, and white space against the product catalogue (lines it does not know flagged)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field

from services.scoring.quadrant import QUADRANT_CODES, Growth, Signals, signals_of
from shared.api import RequestBody
from shared.errors import Unprocessable
from shared.vocabulary import TIER_CODES

AccountStatus = Literal["prospect", "key_account", "former"]
STATUSES: tuple[str, ...] = ("prospect", "key_account", "former")
TierOrUnscored = Literal["strategic", "key", "growth", "maintain", "unscored"]
SignalName = Literal["industry_leader", "high_growth", "declining"]
SIGNAL_NAMES: tuple[str, ...] = ("industry_leader", "high_growth", "declining")
SIGNAL_LABELS = {
    "industry_leader": ("行业领先", "industry leader"),
    "high_growth": ("高增长", "high growth"),
    "declining": ("采购下滑", "declining purchases"),
}
WIN_BACK = "win_back"
LOWER_COST = "serve_at_lower_cost"


class Text(RequestBody):
    """A text in 简体中文 and English."""

    zh: str = Field(min_length=1, max_length=500)
    en: str = Field(min_length=1, max_length=500)


class RuleWhen(RequestBody):
    """When a rule applies: each list given must hold the account's value (empty: any); every signal named must
    hold."""

    statuses: list[AccountStatus] = Field(default_factory=list, max_length=3)
    tiers: list[TierOrUnscored] = Field(default_factory=list, max_length=5)
    quadrants: list[Literal["star", "cash_cow", "rising", "ordinary"]] = Field(default_factory=list, max_length=4)
    signals: list[SignalName] = Field(default_factory=list, max_length=3)

    def is_catch_all(self) -> bool:
        """Whether the rule applies to every account."""
        return not (self.statuses or self.tiers or self.quadrants or self.signals)


class StrategyRule(RequestBody):
    """One row of the table: the first rule (in order) whose conditions an account meets gives its strategy."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,49}$")
    title: Text
    actions: list[Text] = Field(default_factory=list, max_length=20)
    cross_sell: int = Field(default=0, ge=0, le=10, description="white-space lines suggested as cross-sell actions")
    when: RuleWhen = Field(default_factory=RuleWhen)


class RuleTable(RequestBody):
    """The strategy rules, in the order they are tried."""

    rules: list[StrategyRule] = Field(min_length=1, max_length=50)


def _t(zh: str, en: str) -> Text:
    return Text(zh=zh, en=en)


def default_rules() -> RuleTable:
    """Today's strategies (leaders in a key tier → partnership; high growth outside ``maintain`` → fast penetration;
    other strategic/key/growth → maintain; the rest → lower cost), with former accounts won back first."""
    key_tiers: list[TierOrUnscored] = ["strategic", "key"]
    return RuleTable(
        rules=[
            StrategyRule(
                code=WIN_BACK,
                title=_t("赢回策略", "Win-back strategy"),
                actions=[
                    _t(
                        "流失原因复盘(价格、质量、交付、服务、竞品)",
                        "Review why the account left (price, quality, service, competitors)",
                    ),
                    _t("高层回访, 重建沟通渠道", "Executive visit to rebuild the relationship"),
                    _t("针对性赢回方案(试点项目/专项报价)", "A targeted win-back offer (pilot project, special terms)"),
                    _t("设定赢回目标与复盘节点", "Set a win-back target and review dates"),
                ],
                when=RuleWhen(statuses=["former"]),
            ),
            StrategyRule(
                code="strategic_partnership",
                title=_t("战略合作与生态共建", "Strategic partnership and ecosystem building"),
                actions=[
                    _t("高层战略对话, 每季度一次", "Executive strategic dialogue every quarter"),
                    _t(
                        "联合方案与生态合作 (行业标杆案例)",
                        "Joint solutions and ecosystem partnership",
                    ),
                    _t("从区域合作升级为全国性战略合作", "Upgrade from regional to national strategic cooperation"),
                ],
                cross_sell=3,
                when=RuleWhen(tiers=key_tiers, signals=["industry_leader"]),
            ),
            StrategyRule(
                code="fast_penetration",
                title=_t("快速渗透与份额提升", "Fast penetration and share gain"),
                actions=[
                    _t("扩大产品组合, 提升份额", "Broaden the product mix and gain share"),
                    _t("专项资源支持新项目落地", "Dedicated resources to land new projects"),
                ],
                cross_sell=3,
                when=RuleWhen(tiers=["strategic", "key", "growth", "unscored"], signals=["high_growth"]),
            ),
            StrategyRule(
                code="maintain_efficiently",
                title=_t("稳定维护, 提升效率", "Maintain efficiently"),
                actions=[
                    _t("按节奏定期业务回顾", "Regular business reviews at the tier's cadence"),
                    _t("满意度回访, 预防流失", "Satisfaction follow-ups to prevent churn"),
                ],
                cross_sell=3,
                when=RuleWhen(tiers=["strategic", "key", "growth"]),
            ),
            StrategyRule(
                code=LOWER_COST,
                title=_t("低成本服务", "Serve at lower cost"),
                actions=[
                    _t("线上/渠道服务为主", "Serve mainly online and through channels"),
                    _t("标准化产品与报价", "Standard products and pricing"),
                    _t("关注增长信号, 择机升级", "Watch for growth signals and upgrade when they appear"),
                ],
            ),
        ]
    )


@dataclass(frozen=True)
class Situation:
    """What the rules look at: status, tier (``unscored`` when none), quadrant (None: not placed) and signals."""

    status: str
    tier: str
    quadrant: str | None
    signals: frozenset[str]


def matches(when: RuleWhen, situation: Situation) -> bool:
    """Whether a rule's conditions hold for the situation."""
    return (
        (not when.statuses or situation.status in when.statuses)
        and (not when.tiers or situation.tier in when.tiers)
        and (not when.quadrants or situation.quadrant in when.quadrants)
        and all(signal in situation.signals for signal in when.signals)
    )


def first_match(table: RuleTable, situation: Situation) -> int | None:
    """The position of the rule that applies (None: none does)."""
    return next((i for i, rule in enumerate(table.rules) if matches(rule.when, situation)), None)


def _situations() -> Iterable[Situation]:
    signal_sets = [
        frozenset(s for s, on in zip(SIGNAL_NAMES, flags, strict=True) if on)
        for flags in itertools.product((False, True), repeat=len(SIGNAL_NAMES))
    ]
    for status, tier, quadrant, signals in itertools.product(
        STATUSES, (*TIER_CODES, "unscored"), (*QUADRANT_CODES, None), signal_sets
    ):
        yield Situation(status, tier, quadrant, signals)


def validate_rules(table: RuleTable) -> None:
    """Refuse a table with two rules of one code, an account no rule applies to, or a former account reaching a rule
    that is not for former accounts only (a former account is won back, never served at lower cost): 422."""
    seen: dict[str, int] = {}
    for i, rule in enumerate(table.rules):
        if rule.code in seen:
            raise Unprocessable(
                f"rules.{i}.code: {rule.code!r} is also rule {seen[rule.code]}", field=f"rules.{i}.code"
            )
        seen[rule.code] = i
    for situation in _situations():
        position = first_match(table, situation)
        if position is None:
            raise Unprocessable(
                f"no rule applies to a {situation.status} account of tier {situation.tier}, quadrant "
                f"{situation.quadrant or 'none'}, signals {sorted(situation.signals) or 'none'}; end the table with "
                "a rule without conditions",
                field="rules",
            )
        rule = table.rules[position]
        if situation.status == "former" and rule.when.statuses != ["former"]:
            raise Unprocessable(
                f"rules.{position}: a former account (tier {situation.tier}, quadrant {situation.quadrant or 'none'})"
                f" reaches {rule.code!r}, which is not a win-back rule; put a rule for former accounts only "
                '(when.statuses = ["former"]) before it',
                field=f"rules.{position}",
            )


@dataclass(frozen=True)
class Strategy:
    """A recommended approach with the rule that chose it, why, and concrete actions (中文 and English)."""

    code: str
    title_zh: str
    title_en: str
    reason: str
    reason_zh: str
    actions: list[str]
    actions_en: list[str]
    rule_position: int


def _reason(
    rule: StrategyRule, position: int, situation: Situation, details: dict[str, tuple[str, str]]
) -> tuple[str, str]:
    when = rule.when
    en = [f"rule {position + 1} {rule.code!r}"]
    zh = [f"规则 {position + 1}「{rule.title.zh}」"]
    if when.statuses:
        en.append(f"status {situation.status}")
        zh.append(f"客户状态 {situation.status}")
    if when.tiers:
        en.append(f"tier {situation.tier} (one of {', '.join(when.tiers)})")
        zh.append(f"层级 {situation.tier}")
    if when.quadrants:
        en.append(f"quadrant {situation.quadrant}")
        zh.append(f"象限 {situation.quadrant}")
    for signal in when.signals:
        zh_label, en_label = SIGNAL_LABELS[signal]
        detail_zh, detail_en = details.get(signal, ("", ""))
        en.append(f"{en_label}{f' ({detail_en})' if detail_en else ''}")
        zh.append(f"{zh_label}{f'({detail_zh})' if detail_zh else ''}")
    if when.is_catch_all():
        en.append("no earlier rule applies")
        zh.append("不满足前述规则")
    return "; ".join(en), "; ".join(zh)


def recommend(
    table: RuleTable,
    situation: Situation,
    *,
    missing_lines: Sequence[str],
    details: dict[str, tuple[str, str]] | None = None,
) -> Strategy:
    """The strategy of the first rule that applies, with up to ``cross_sell`` white-space lines as actions."""
    position = first_match(table, situation)
    if position is None:  # a stored table is validated; this only guards an unvalidated one
        position, rule = -1, default_rules().rules[-1]
    else:
        rule = table.rules[position]
    lines = list(missing_lines[: rule.cross_sell])
    reason_en, reason_zh = _reason(rule, position, situation, details or {})
    return Strategy(
        code=rule.code,
        title_zh=rule.title.zh,
        title_en=rule.title.en,
        reason=reason_en,
        reason_zh=reason_zh,
        actions=[a.zh for a in rule.actions] + [f"交叉销售: {line}" for line in lines],
        actions_en=[a.en for a in rule.actions] + [f"Cross-sell: {line}" for line in lines],
        rule_position=position + 1,
    )


def white_space(offered: Sequence[str], bought: Iterable[str]) -> list[str]:
    """Offered product lines the account does not buy yet, in catalogue order."""
    have = set(bought)
    return [line for line in offered if line not in have]


def unknown_lines(known: Iterable[str], bought: Iterable[str]) -> list[str]:
    """Product lines in the account's actuals that the catalogue does not know (flagged, never coverage)."""
    catalogue = set(known)
    return sorted({line for line in bought if line not in catalogue})


def recommend_strategy(
    *,
    tier: str | None,
    industry_leadership: Decimal | None,
    revenue_growth: Decimal | None,
    expected_growth: Decimal | None,
    missing_lines: Sequence[str],
    status: str = "key_account",
) -> Strategy:
    """The default table's strategy for an account of a tier and position (no quadrant), the measured growth
    deciding over the expected one."""
    growth = Growth(revenue_growth, Decimal(0), Decimal(0), expected_growth)
    signals = signals_of(Signals(), leadership=industry_leadership, growth=growth)
    situation = Situation(status, tier or "unscored", None, signals.active())
    return recommend(default_rules(), situation, missing_lines=missing_lines)
