"""Pure: every kind's facts, and its message in 简体中文 and English from the one template table."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.notifications.kinds.service import FACTS, NOTIFIABLE_KINDS, facts_of
from services.notifications.templates.service import (
    TEMPLATES,
    html_part,
    local_time,
    markdown,
    render,
    render_digest,
)
from shared.clock import business_zone
from shared.events import (
    AlertLevelRaised,
    AlertRaised,
    ComplaintAssigned,
    ComplaintEscalated,
    ComplaintRevisitDue,
    ComplaintSlaBreached,
    ComplaintSlaWarning,
    ComplaintTaskAssigned,
    ComplaintTaskOverdue,
    ContractExpiring,
    CreditReviewDue,
    EngagementOverdue,
    GoalsActionItemDue,
    GoalsActionItemOverdue,
    GoalsProjectPartOverdue,
    LimitRequestSubmitted,
    ReviewRequested,
    RiskActionItemAssigned,
    RiskActionItemOverdue,
    SurveyAnswered,
    TargetAchieved,
    TargetAtRisk,
    TargetMissed,
)

ZONE = business_zone("Asia/Shanghai")
AT = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 6, 30, tzinfo=UTC)  # 14:30 in Shanghai
ACCOUNT = "深圳云启科技股份有限公司"
CONSOLE = "https://ka.example.cn/console"
C = str(uuid.UUID(int=0xC0FFEE))  # fixed: test ids made from it must be the same in every xdist worker
TARGET = {"target_id": "t-1", "metric": "revenue", "period": "2026-Q1", "target_value": Decimal("1200000")}
ITEM = {"item_id": "i-1", "title": "高层拜访", "owner_id": "am-li", "due_on": date(2026, 3, 5)}
SLA = {"complaint_id": C, "timer": "resolution", "due_at": DUE, "severity": "critical", "owner_id": "am-li"}

# One event of every kind notifications consumes, as its publisher would send it.
SAMPLES = [
    ComplaintSlaWarning(source="complaints", account_id="a-1", time=AT, data={**SLA, "title": "交付延迟"}),
    ComplaintSlaBreached(source="complaints", account_id="a-1", time=AT, data={**SLA, "title": "交付延迟"}),
    ComplaintEscalated(
        source="complaints",
        account_id="a-1",
        time=AT,
        data={"complaint_id": C, "level": 2, "escalated_to": "director", "reason": "resolution_breach"},
    ),
    ComplaintAssigned(
        source="complaints",
        account_id="a-1",
        time=AT,
        data={"complaint_id": C, "owner_id": "am-zhang", "previous_owner_id": "am-li", "assigned_by": "sup-wang"},
    ),
    ComplaintTaskAssigned(
        source="complaints",
        account_id="a-1",
        time=AT,
        data={"complaint_id": C, "task_id": "k-1", "assignee_id": "qa-1", "department": "质量部", "due_at": DUE},
    ),
    ComplaintTaskOverdue(
        source="complaints",
        account_id="a-1",
        time=AT,
        data={"complaint_id": C, "task_id": "k-1", "assignee_id": "qa-1", "title": "根因分析", "due_at": DUE},
    ),
    ComplaintRevisitDue(
        source="complaints", account_id="a-1", time=AT, data={"complaint_id": C, "due_at": DUE, "title": "交付延迟"}
    ),
    AlertRaised(
        source="risk",
        account_id="a-1",
        time=AT,
        data={"alert_id": "al-1", "rule_code": "R1", "level": "red", "signal_type": "overdue", "title": "逾期 90 天"},
    ),
    AlertLevelRaised(
        source="risk",
        account_id="a-1",
        time=AT,
        data={
            "alert_id": "al-1",
            "rule_code": "R1",
            "level": "orange",
            "previous_level": "yellow",
            "signal_type": "overdue",
            "title": "逾期 60 天",
        },
    ),
    RiskActionItemAssigned(source="risk", account_id="a-1", time=AT, data={**ITEM, "owner_role": "risk_officer"}),
    RiskActionItemOverdue(source="risk", account_id="a-1", time=AT, data=ITEM),
    LimitRequestSubmitted(
        source="risk",
        account_id="a-1",
        time=AT,
        data={"request_id": "r-1", "requested_by": "ro-maker", "requested_limit": "800000", "currency": "CNY"},
    ),
    ContractExpiring(
        source="risk",
        account_id="a-1",
        time=AT,
        data={
            "contract_id": "k-9",
            "title": "年度框架协议",
            "expires_on": date(2026, 4, 1),
            "days_left": 30,
            "stage": 30,
        },
    ),
    CreditReviewDue(source="risk", account_id="a-1", time=AT, data={"review_on": date(2026, 3, 31)}),
    TargetAtRisk(
        source="goals",
        account_id="a-1",
        time=AT,
        data={**TARGET, "forecast": "960000", "attainment_pct": "80.04", "threshold_pct": "90"},
    ),
    TargetAchieved(source="goals", account_id="a-1", time=AT, data={**TARGET, "actual": "1300000"}),
    TargetMissed(source="goals", account_id="a-1", time=AT, data={**TARGET, "actual": "1000000"}),
    GoalsActionItemDue(source="goals", account_id="a-1", time=AT, data=ITEM),
    GoalsActionItemOverdue(source="goals", account_id="a-1", time=AT, data=ITEM),
    GoalsProjectPartOverdue(
        source="goals",
        account_id="a-1",
        time=AT,
        data={
            "project_id": "p-1",
            "part_id": "pp-1",
            "project_title": "新产线智能化改造",
            "title": "定制化推广方案",
            "department": "marketing",
            "owner_id": "mk-zhou",
            "due_on": date(2026, 3, 1),
            "status": "in_progress",
        },
    ),
    EngagementOverdue(
        source="scoring",
        account_id="a-1",
        time=AT,
        data={"contact_level": "executive", "days_overdue": 12, "last_engaged_on": date(2025, 11, 20)},
    ),
    ReviewRequested(
        source="scoring",
        account_id="a-1",
        time=AT,
        data={
            "review_kind": "contact_level",
            "review_id": "ct-1",
            "object_type": "contact",
            "requested_by": "am-li",
            "owner_id": "am-li",
            "level": "executive",
        },
    ),
    SurveyAnswered(
        source="complaints",
        account_id="a-1",
        time=AT,
        data={
            "survey_request_id": "r-1",
            "template_id": "t-1",
            "contact_level": "decision",
            "nps": 3,
            "csat": 2,
            "answered_at": AT,
            "answered_by": "customer",
            "low_score": True,
            "owner_id": "am-li",
            "follow_up_id": "f-1",
        },
    ),
]


def test_every_consumed_kind_has_a_sample_and_a_template_in_both_languages():
    assert sorted(e.type for e in SAMPLES) == sorted(NOTIFIABLE_KINDS) == sorted(c.type_name() for c in FACTS)
    assert sorted(TEMPLATES) == sorted(NOTIFIABLE_KINDS)
    assert all(set(languages) == {"zh-CN", "en"} for languages in TEMPLATES.values())


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.type)
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_each_message_names_the_account_what_happened_and_links_to_the_console(event, language):
    facts = facts_of(event)
    message = render(facts, language=language, account_name=ACCOUNT, zone=ZONE, console_base_url=CONSOLE)
    assert ACCOUNT in message.subject + message.body
    assert message.link.startswith(CONSOLE + "/") and facts.link_path in message.link
    assert "{" not in message.subject + message.body, "every field of the template is filled"
    assert message.text.endswith(f"{message.link}\n")
    if facts.due_at or facts.due_on:
        assert message.due and message.due in message.subject + message.body


def test_the_due_time_is_shown_in_the_companys_zone():
    facts = facts_of(SAMPLES[0])
    zh = render(facts, language="zh-CN", account_name=ACCOUNT, zone=ZONE, console_base_url=CONSOLE)
    en = render(facts, language="en", account_name=ACCOUNT, zone=ZONE, console_base_url=CONSOLE)
    assert zh.due == "2026-03-02 14:30（北京时间）"
    assert en.due == "2026-03-02 14:30 (China time, UTC+08:00)"
    assert local_time(DUE, business_zone("Europe/Berlin"), "en") == "2026-03-02 07:30 (Europe/Berlin, UTC+01:00)"
    assert local_time(date(2026, 3, 5), ZONE, "zh-CN") == "2026-03-05"


def test_codes_are_said_in_the_readers_language_and_people_by_their_names():
    facts = facts_of(SAMPLES[0])
    zh = render(facts, language="zh-CN", account_name=ACCOUNT, zone=ZONE, console_base_url=CONSOLE)
    assert zh.subject == f"【SLA预警】{ACCOUNT}：投诉「交付延迟」解决即将超时"
    assert "严重程度：紧急" in zh.body
    en = render(facts, language="en", account_name=ACCOUNT, zone=ZONE, console_base_url=CONSOLE)
    assert en.subject == f"[SLA warning] {ACCOUNT}: resolution of complaint “交付延迟” is due soon"
    assigned = facts_of(SAMPLES[3])
    named = render(
        assigned,
        language="zh-CN",
        account_name=ACCOUNT,
        zone=ZONE,
        console_base_url=CONSOLE,
        names={"am-zhang": "张伟"},
    )
    assert "由 张伟 负责" in named.subject
    assert render(assigned, language="fr", account_name=None, zone=ZONE, console_base_url=CONSOLE).language == "zh-CN"


def test_what_is_urgent_and_what_a_rule_matches_on_each_kind():
    urgent = {e.type: facts_of(e).critical for e in SAMPLES}
    assert urgent["complaints.sla_breached"] and urgent["complaints.escalated"] and urgent["risk.alert_raised"]
    assert not urgent["complaints.sla_warning"] and not urgent["risk.alert_level_raised"]  # orange is not red
    levels = {e.type: facts_of(e).level for e in SAMPLES}
    assert levels["complaints.sla_warning"] == "critical"  # the severity
    assert levels["complaints.escalated"] == "2"
    assert levels["risk.contract_expiring"] == "30"
    assert levels["accounts.engagement_overdue"] == "executive"
    limit = facts_of(SAMPLES[11])
    assert limit.queue_role == "risk_officer" and limit.excluded == frozenset({"ro-maker"})
    assert facts_of(SAMPLES[3]).excluded == frozenset({"sup-wang"})  # the one who reassigned is not told


def test_html_and_markdown_escape_and_link():
    facts = facts_of(SAMPLES[0])
    message = render(facts, language="zh-CN", account_name="<b>A&B</b>", zone=ZONE, console_base_url=CONSOLE)
    page = html_part(message)
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in page and "<b>A&B</b>" not in page
    assert f'href="{message.link}"' in page and 'lang="zh-CN"' in page
    md = markdown(message, mentions="<@LiLei>")
    assert md.startswith(f"**{message.subject}**") and md.endswith("<@LiLei>")
    assert f"[查看详情]({message.link})" in md


def test_the_digest_lists_what_was_held():
    digest = render_digest(
        [("【SLA预警】甲", "https://x/1"), ("【目标风险】乙", "https://x/2")], language="en", console_base_url=CONSOLE
    )
    assert digest.subject == "[Daily digest] 2 notifications"
    assert "• 【SLA预警】甲 — https://x/1" in digest.body and digest.link == f"{CONSOLE}/inbox"
