"""Pure: the template table (one row per kind, 简体中文 and English), the labels of codes, and rendering."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.notifications.kinds.schemas import Facts
from services.notifications.templates.schemas import OPEN_LABEL, Rendered, Template

LANGUAGES = ("zh-CN", "en")
T = Template

# One row per kind: what the subject and the body say, in each language. Fields: {account} {title} {due} and the
# kind's own values (localised through LABELS where they are codes, people by their display names).
TEMPLATES: dict[str, dict[str, Template]] = {
    "complaints.sla_warning": {
        "zh-CN": T(
            "【SLA预警】{account}：投诉「{title}」{timer}即将超时",
            "客户 {account} 的投诉「{title}」（严重程度：{severity}）{timer}将于 {due} 到期，请尽快处理。",
        ),
        "en": T(
            "[SLA warning] {account}: {timer} of complaint “{title}” is due soon",
            "The {timer} of complaint “{title}” of {account} (severity: {severity}) is due at {due}. Act now.",
        ),
    },
    "complaints.sla_breached": {
        "zh-CN": T(
            "【SLA超时】{account}：投诉「{title}」{timer}已超时",
            "客户 {account} 的投诉「{title}」（严重程度：{severity}）{timer}已于 {due} 超时，"
            "请立即处理并向客户同步进展。",
        ),
        "en": T(
            "[SLA breached] {account}: {timer} of complaint “{title}” is overdue",
            "The {timer} of complaint “{title}” of {account} (severity: {severity}) was due at {due} and is "
            "missed. Act now and update the customer.",
        ),
    },
    "complaints.escalated": {
        "zh-CN": T(
            "【投诉升级】{account}：投诉已升级至第 {level} 级",
            "客户 {account} 的一项投诉因「{reason}」升级至第 {level} 级，现由 {escalated_to} 跟进（负责人：{owner}）。",
        ),
        "en": T(
            "[Escalated] {account}: complaint escalated to level {level}",
            "A complaint of {account} was escalated to level {level} ({reason}); {escalated_to} now follows it "
            "up (owner: {owner}).",
        ),
    },
    "complaints.assigned": {
        "zh-CN": T(
            "【投诉指派】{account}：投诉「{title}」由 {owner} 负责",
            "客户 {account} 的投诉「{title}」（严重程度：{severity}）现由 {owner} 负责，请在时限内响应客户。",
        ),
        "en": T(
            "[Assigned] {account}: complaint “{title}” is now owned by {owner}",
            "Complaint “{title}” of {account} (severity: {severity}) is now owned by {owner}. Respond in time.",
        ),
    },
    "complaints.task_assigned": {
        "zh-CN": T(
            "【任务分派】{account}：{title}",
            "客户 {account} 投诉处理小组的任务「{title}」（{department}）已分派给 {assignee}，截止 {due}。",
        ),
        "en": T(
            "[Task] {account}: {title}",
            "Task “{title}” ({department}) of the task force on a complaint of {account} is assigned to "
            "{assignee}, due {due}.",
        ),
    },
    "complaints.task_overdue": {
        "zh-CN": T(
            "【任务逾期】{account}：{title}",
            "客户 {account} 投诉处理小组的任务「{title}」（{department}）已于 {due} 逾期，负责人：{assignee}。",
        ),
        "en": T(
            "[Task overdue] {account}: {title}",
            "Task “{title}” ({department}) on a complaint of {account} was due at {due}; assignee: {assignee}.",
        ),
    },
    "complaints.revisit_due": {
        "zh-CN": T(
            "【回访到期】{account}：投诉「{title}」待回访",
            "客户 {account} 的投诉「{title}」已解决，请于 {due} 前完成回访并确认客户满意度。",
        ),
        "en": T(
            "[Revisit due] {account}: complaint “{title}” awaits its revisit",
            "Complaint “{title}” of {account} is resolved; revisit the customer by {due} and confirm satisfaction.",
        ),
    },
    "complaints.survey_answered": {
        "zh-CN": T(
            "【低分调研】{account}：客户满意度调研得分偏低（{score}）",
            "客户 {account} 的满意度调研答复得分偏低（{score}），已生成跟进任务，请尽快联系客户了解原因。",
        ),
        "en": T(
            "[Low survey score] {account}: a satisfaction survey scored low ({score})",
            "A satisfaction survey of {account} scored low ({score}). A follow-up task is yours: contact the "
            "customer soon to learn why.",
        ),
    },
    "risk.alert_raised": {
        "zh-CN": T(
            "【风险预警·{level}】{account}：{title}",
            "客户 {account} 触发{level}预警「{title}」（信号：{signal}），请查看并执行应急预案。",
        ),
        "en": T(
            "[Risk alert · {level}] {account}: {title}",
            "{account} raised a {level} alert “{title}” (signal: {signal}). Review it and follow the contingency plan.",
        ),
    },
    "risk.alert_level_raised": {
        "zh-CN": T(
            "【预警升级·{level}】{account}：{title}",
            "客户 {account} 的预警「{title}」已由{previous_level}升至{level}（信号：{signal}），请立即处理。",
        ),
        "en": T(
            "[Alert raised to {level}] {account}: {title}",
            "Alert “{title}” of {account} rose from {previous_level} to {level} (signal: {signal}). Act now.",
        ),
    },
    "risk.action_item_assigned": {
        "zh-CN": T(
            "【预案任务】{account}：{title}",
            "客户 {account} 的应急预案任务「{title}」已分派给 {assignee}，截止 {due}。",
        ),
        "en": T(
            "[Contingency step] {account}: {title}",
            "Contingency step “{title}” for {account} is assigned to {assignee}, due {due}.",
        ),
    },
    "risk.action_item_overdue": {
        "zh-CN": T(
            "【预案任务逾期】{account}：{title}",
            "客户 {account} 的应急预案任务「{title}」已于 {due} 逾期，负责人：{assignee}。",
        ),
        "en": T(
            "[Contingency step overdue] {account}: {title}",
            "Contingency step “{title}” for {account} was due {due}; assignee: {assignee}.",
        ),
    },
    "risk.limit_request_submitted": {
        "zh-CN": T(
            "【额度审批】{account}：{requester} 申请授信额度 {amount}",
            "客户 {account} 的授信额度申请（{amount}，申请人：{requester}）等待复核，请审批。",
        ),
        "en": T(
            "[Limit request] {account}: {requester} requests a credit limit of {amount}",
            "A credit limit request for {account} ({amount}, by {requester}) awaits a checker's decision.",
        ),
    },
    "risk.contract_expiring": {
        "zh-CN": T(
            "【合同到期提醒】{account}：「{title}」将于 {due} 到期",
            "客户 {account} 的合同「{title}」将于 {due} 到期（剩余 {days_left} 天），请安排续签或终止评审。",
        ),
        "en": T(
            "[Contract expiring] {account}: “{title}” expires on {due}",
            "Contract “{title}” of {account} expires on {due} ({days_left} days left). Plan its renewal review.",
        ),
    },
    "risk.review_due": {
        "zh-CN": T(
            "【信用复核】{account}：信用档案应于 {due} 复核",
            "客户 {account} 的信用档案已到定期复核日 {due}，请更新信用评估。",
        ),
        "en": T(
            "[Credit review due] {account}: review the credit profile by {due}",
            "The credit profile of {account} is due for its periodic review on {due}. Update the assessment.",
        ),
    },
    "goals.target_at_risk": {
        "zh-CN": T(
            "【目标风险】{account}：{period} {metric}目标可能无法达成",
            "客户 {account} 的 {period} {metric}目标（{target}）预测达成率 {attainment}%，低于 {threshold}% 的预警线"
            "（预测值 {forecast}），请调整行动计划。",
        ),
        "en": T(
            "[Target at risk] {account}: the {period} {metric} target may be missed",
            "The {period} {metric} target of {account} ({target}) is forecast at {attainment}% attainment, below "
            "the {threshold}% line (forecast {forecast}). Adjust the action plan.",
        ),
    },
    "goals.target_achieved": {
        "zh-CN": T(
            "【目标达成】{account}：{period} {metric}目标已达成",
            "客户 {account} 的 {period} {metric}目标（{target}）已达成，实际 {actual}。",
        ),
        "en": T(
            "[Target achieved] {account}: the {period} {metric} target is achieved",
            "The {period} {metric} target of {account} ({target}) is achieved: actual {actual}.",
        ),
    },
    "goals.target_missed": {
        "zh-CN": T(
            "【目标未达成】{account}：{period} {metric}目标未达成",
            "客户 {account} 的 {period} {metric}目标（{target}）未达成，实际 {actual}，请复盘原因。",
        ),
        "en": T(
            "[Target missed] {account}: the {period} {metric} target was missed",
            "The {period} {metric} target of {account} ({target}) was missed: actual {actual}. Review why.",
        ),
    },
    "goals.action_item_due": {
        "zh-CN": T(
            "【行动计划】{account}：「{title}」即将到期",
            "客户 {account} 的行动计划「{title}」将于 {due} 到期，负责人：{assignee}。",
        ),
        "en": T(
            "[Action item due] {account}: “{title}”",
            "Action item “{title}” of the plan for {account} is due {due}; owner: {assignee}.",
        ),
    },
    "goals.action_item_overdue": {
        "zh-CN": T(
            "【行动计划逾期】{account}：「{title}」",
            "客户 {account} 的行动计划「{title}」已于 {due} 逾期，负责人：{assignee}。",
        ),
        "en": T(
            "[Action item overdue] {account}: “{title}”",
            "Action item “{title}” of the plan for {account} was due {due}; owner: {assignee}.",
        ),
    },
    "goals.project_part_overdue": {
        "zh-CN": T(
            "【跨部门项目逾期】{account}：「{title}」",
            "客户 {account} 的跨部门项目「{project}」中{project_department}的任务「{title}」已于 {due} 逾期，"
            "负责人：{assignee}。",
        ),
        "en": T(
            "[Project part overdue] {account}: “{title}”",
            "The {project_department} part “{title}” of the project “{project}” for {account} was due {due}; "
            "owner: {assignee}.",
        ),
    },
    "accounts.review_requested": {
        "zh-CN": T(
            "【待确认】{account}：{requester}填报的{review_kind}",
            "客户 {account} 有一项{review_kind}待您确认（填报人：{requester}；字段：{fields}；层级：{contact_level}）。"
            "确认后才计入评分。",
        ),
        "en": T(
            "[Awaiting you] {account}: {review_kind} reported by {requester}",
            "{account} has a {review_kind} awaiting your decision (reported by {requester}; fields: {fields}; "
            "level: {contact_level}). It counts for the score once confirmed.",
        ),
    },
    "accounts.engagement_overdue": {
        "zh-CN": T(
            "【沟通逾期】{account}：{contact_level}沟通已逾期 {days_overdue} 天",
            "客户 {account} 的{contact_level}沟通已超出节奏要求 {days_overdue} 天（上次：{last_engaged}），"
            "请安排拜访。",
        ),
        "en": T(
            "[Engagement overdue] {account}: {contact_level} contact is {days_overdue} days overdue",
            "{account} has had no {contact_level} contact for {days_overdue} days beyond its cadence (last: "
            "{last_engaged}). Plan a visit.",
        ),
    },
}

# Codes in the values, as each language says them.
LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "timer": {"first_response": ("首次响应", "first response"), "update": ("进展更新", "update"),
              "resolution": ("解决", "resolution")},
    "severity": {"low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"),
                 "critical": ("紧急", "critical")},
    "level": {"green": ("绿色", "green"), "yellow": ("黄色", "yellow"), "orange": ("橙色", "orange"),
              "red": ("红色", "red")},
    "reason": {"first_response_breach": ("首次响应超时", "first response missed"),
               "update_breach": ("进展更新超时", "update missed"),
               "resolution_breach": ("解决超时", "resolution missed"),
               "low_satisfaction": ("客户满意度低", "low satisfaction"), "reopened": ("投诉重开", "reopened"),
               "manual": ("人工升级", "escalated by hand")},
    "metric": {"revenue": ("收入", "revenue"), "gross_profit": ("毛利", "gross profit"),
               "gross_margin_pct": ("毛利率", "gross margin"), "product_penetration": ("产品渗透率", "penetration"),
               "new_business": ("新业务", "new business"), "share_of_wallet": ("钱包份额", "share of wallet"),
               "market_share": ("市场份额", "market share"), "custom": ("自定义指标", "custom")},
    "project_department": {"marketing": ("市场部", "marketing"), "product": ("产品部", "product"),
                           "after_sales": ("售后服务部", "after-sales")},
    "review_kind": {"change_request": ("评分输入变更申请", "score input change request"),
                    "contact_level": ("联系层级", "contact level")},
    "contact_level": {"executive": ("高层", "executive-level"), "decision": ("决策层", "decision-level"),
                      "execution": ("执行层", "execution-level")},
}  # fmt: skip
LABELS["previous_level"] = LABELS["level"]
NONE_LABEL = {"zh-CN": "—", "en": "—"}
ZONE_LABELS = {"Asia/Shanghai": ("北京时间", "China time")}


class _Values(dict[str, str]):
    """Template values; a field a kind does not provide reads as a dash rather than failing."""

    def __init__(self, values: Mapping[str, str], language: str) -> None:
        super().__init__(values)
        self.language = language

    def __missing__(self, key: str) -> str:
        return NONE_LABEL[self.language]


def label(group: str, code: str, language: str) -> str:
    """A code as ``language`` says it (the code itself when the table does not know it)."""
    pair = LABELS.get(group, {}).get(code)
    if pair is None:
        return code
    return pair[0] if language == "zh-CN" else pair[1]


def local_time(moment: datetime | date | None, zone: ZoneInfo, language: str) -> str:
    """A due time in the company's zone as people read it; a date stays a date."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return moment.isoformat()
    local = moment.astimezone(zone)
    zh, en = ZONE_LABELS.get(zone.key, (zone.key, zone.key))
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}"
    if language == "zh-CN":
        return f"{local:%Y-%m-%d %H:%M}（{zh}）"
    return f"{local:%Y-%m-%d %H:%M} ({en}, {offset})"


def render(
    facts: Facts,
    *,
    language: str,
    account_name: str | None,
    zone: ZoneInfo,
    console_base_url: str,
    names: Mapping[str, str] | None = None,
) -> Rendered:
    """The message of ``facts`` in ``language`` (zh-CN when the language is not one we write)."""
    language = language if language in LANGUAGES else "zh-CN"
    template = TEMPLATES[facts.kind][language]
    names = names or {}
    values: dict[str, str] = {key: label(key, code, language) if code else "" for key, code in facts.values.items()}
    for key, user_id in facts.named_people.items():
        values[key] = names.get(user_id) or user_id
    due = local_time(facts.due_at or facts.due_on, zone, language)
    values |= {"account": account_name or facts.account_id or "", "title": facts.title, "due": due}
    filled = _Values({k: v for k, v in values.items() if v}, language)
    return Rendered(
        language=language,
        subject=template.subject.format_map(filled),
        body=template.body.format_map(filled),
        link=console_base_url.rstrip("/") + facts.link_path,
        due=due,
        critical=facts.critical,
    )


def html_part(message: Rendered) -> str:
    """The HTML email part: the subject, the body (a paragraph per line) and a button to the console; every value
    is escaped."""
    colour = "#c0392b" if message.critical else "#1f6feb"
    paragraphs = "".join(f"<p>{html.escape(line)}</p>" for line in message.body.split("\n") if line.strip())
    subject = html.escape(message.subject)
    button = (
        f'<p><a href="{html.escape(message.link, quote=True)}" style="background:{colour};color:#fff;'
        f'padding:6px 14px;border-radius:4px;text-decoration:none">{OPEN_LABEL[message.language]}</a></p>'
    )
    return (
        f'<!DOCTYPE html><html lang="{message.language}"><head><meta charset="utf-8"><title>{subject}</title></head>'
        f'<body style="font-family:sans-serif;line-height:1.6"><h2 style="color:{colour};font-size:16px">{subject}</h2>'
        f"{paragraphs}{button}</body></html>"
    )


def markdown(message: Rendered, *, mentions: str = "") -> str:
    """The message as group-robot markdown: a bold subject, the body, a link, then the mentions."""
    lines = [f"**{message.subject}**", "", message.body, "", f"[{OPEN_LABEL[message.language]}]({message.link})"]
    if mentions:
        lines += ["", mentions]
    return "\n".join(lines)


DIGEST: dict[str, Template] = {
    "zh-CN": T("【每日摘要】{count} 条通知", "以下 {count} 条通知因静默时段或您的摘要设置暂缓发送："),
    "en": T("[Daily digest] {count} notifications",
            "These {count} notifications were held by quiet hours or your digest setting:"),
}  # fmt: skip


def render_digest(items: list[tuple[str, str]], *, language: str, console_base_url: str) -> Rendered:
    """One digest of held notifications: their subjects and links, the inbox linked at the end."""
    language = language if language in LANGUAGES else "zh-CN"
    template = DIGEST[language]
    count = {"count": str(len(items))}
    lines = [template.body.format_map(count), *(f"• {subject} — {link}" for subject, link in items)]
    return Rendered(
        language=language,
        subject=template.subject.format_map(count),
        body="\n".join(lines),
        link=console_base_url.rstrip("/") + "/inbox",
        due="",
        critical=False,
    )
