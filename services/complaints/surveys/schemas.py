"""Request and response bodies of satisfaction surveys: templates, schedules, requests, answers, results."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.complaints.surveys.results import Cadence, Granularity
from shared.api import MoneyStr, RequestBody
from shared.vocabulary import TierCode

ContactLevel = Literal["executive", "decision", "execution"]
Language = Literal["zh-CN", "en"]
QuestionKind = Literal["nps", "csat", "text"]
TemplateState = Literal["draft", "published", "retired"]
RequestState = Literal["pending", "answered", "expired", "cancelled"]
RequestKind = Literal["survey", "revisit"]
AnsweredBy = Literal["customer", "owner"]
FollowUpState = Literal["open", "done"]
CODE_PATTERN = r"^[a-z][a-z0-9_-]{1,49}$"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"

# 中文 labels of the codes the reads carry (English is the code's own wording).
LEVEL_LABELS: dict[str, str] = {"executive": "高层", "decision": "决策层", "execution": "执行层"}
CADENCE_LABELS: dict[str, str] = {
    "yearly": "每年",
    "quarterly": "每季度",
    "monthly": "每月",
    "after_delivery": "每次交付后",
    "after_complaint_close": "投诉关闭后",
}
TEMPLATE_STATE_LABELS: dict[str, str] = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
REQUEST_STATE_LABELS: dict[str, str] = {
    "pending": "待答复",
    "answered": "已答复",
    "expired": "已过期",
    "cancelled": "已撤回",
}
KIND_LABELS: dict[str, str] = {"survey": "满意度调研", "revisit": "投诉回访"}
FOLLOW_UP_STATE_LABELS: dict[str, str] = {"open": "待跟进", "done": "已完成"}
ANSWERED_BY_LABELS: dict[str, str] = {"customer": "客户本人（链接）", "owner": "负责人代录"}


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Question(RequestBody):
    """One question: NPS (0–10), CSAT (1–5) or free text, worded in 中文 and English."""

    key: str = Field(pattern=KEY_PATTERN, description="Answer key, e.g. nps, csat, comment")
    kind: QuestionKind
    text_zh: str = Field(min_length=1, max_length=500)
    text_en: str = Field(min_length=1, max_length=500)
    required: bool = True


def _check_questions(questions: list[Question]) -> list[Question]:
    keys = [q.key for q in questions]
    if len(set(keys)) != len(keys):
        raise ValueError("question keys must be unique")
    for kind in ("nps", "csat"):
        if sum(1 for q in questions if q.kind == kind) > 1:
            raise ValueError(f"at most one {kind} question")
    if not any(q.kind in ("nps", "csat") for q in questions):
        raise ValueError("a survey needs an nps or a csat question")
    return questions


class TemplateCreate(RequestBody):
    """A new survey template (a draft, version 1 of its code)."""

    code: str = Field(pattern=CODE_PATTERN)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    questions: list[Question] = Field(min_length=1, max_length=30)

    _questions = field_validator("questions")(_check_questions)


class TemplateUpdate(RequestBody):
    """A change of a template: a draft changes in place, a published one gets a new draft version."""

    name_zh: str | None = Field(default=None, min_length=1, max_length=200)
    name_en: str | None = Field(default=None, min_length=1, max_length=200)
    questions: list[Question] | None = Field(default=None, min_length=1, max_length=30)

    @field_validator("questions")
    @classmethod
    def _valid(cls, value: list[Question] | None) -> list[Question] | None:
        return None if value is None else _check_questions(value)


class QuestionRead(_Read):
    """A question as stored."""

    key: str
    kind: QuestionKind
    text_zh: str
    text_en: str
    required: bool


class TemplateRead(_Read):
    """One version of a template."""

    id: str
    code: str
    version: int
    state: TemplateState
    state_label: str
    name_zh: str
    name_en: str
    questions: list[QuestionRead]
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class ScheduleCreate(RequestBody):
    """Which tier's accounts and which contact level get the template's latest version, how often."""

    name: str = Field(min_length=1, max_length=200)
    tier: TierCode
    contact_level: ContactLevel
    cadence: Cadence
    template_code: str = Field(pattern=CODE_PATTERN)
    active: bool = True


class ScheduleUpdate(RequestBody):
    """A change of a schedule (tier and level are what it is: make another schedule for others)."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    cadence: Cadence | None = None
    template_code: str | None = Field(default=None, pattern=CODE_PATTERN)
    active: bool | None = None


class ScheduleRead(_Read):
    """A schedule with its labels."""

    id: str
    name: str
    tier: TierCode
    tier_label: str
    contact_level: ContactLevel
    contact_level_label: str
    cadence: Cadence
    cadence_label: str
    template_code: str
    active: bool
    version: int
    created_by: str
    created_at: datetime
    updated_at: datetime


class DeliveryNotice(RequestBody):
    """A delivery to an account: the ``after_delivery`` schedules of its tier ask its contacts once for it."""

    account_id: str = Field(min_length=1, max_length=36)
    delivery_ref: str = Field(min_length=1, max_length=100, pattern=r"^[\w.:/-]+$")


class GenerationResult(BaseModel):
    """What one generation pass created."""

    created: int
    by_level: dict[str, int]
    request_ids: list[str]


class RequestCreate(RequestBody):
    """A survey asked by hand: of one contact (``survey``) or a complaint's revisit (``revisit``)."""

    account_id: str = Field(min_length=1, max_length=36)
    kind: RequestKind = "survey"
    template_code: str = Field(pattern=CODE_PATTERN)
    contact_id: str | None = Field(default=None, min_length=1, max_length=36)
    complaint_id: str | None = Field(default=None, min_length=1, max_length=36)
    language: Language | None = Field(default=None, description="Default: the contact's language (else 中文)")

    @model_validator(mode="after")
    def _target(self) -> RequestCreate:
        if self.kind == "survey" and self.contact_id is None:
            raise ValueError("contact_id: a survey asks one contact")
        if self.kind == "revisit" and self.complaint_id is None:
            raise ValueError("complaint_id: a revisit survey belongs to a complaint")
        return self


class RequestRead(_Read):
    """A survey request (its link's token is never shown again after it was issued)."""

    id: str
    account_id: str
    kind: RequestKind
    kind_label: str
    template_id: str
    schedule_id: str | None
    complaint_id: str | None
    contact_id: str | None
    contact_name: str | None
    contact_level: ContactLevel | None
    contact_level_label: str | None
    language: Language
    period: str
    state: RequestState
    state_label: str
    link_issued: bool
    expires_at: datetime | None
    created_by: str
    created_at: datetime
    answered_at: datetime | None
    answered_by: AnsweredBy | None


class LinkIssued(BaseModel):
    """A fresh link for a request: the token is shown this once (only its hash is kept)."""

    request_id: str
    token: str
    path: str = Field(description="The customer page at the gateway: /s/{token}")
    expires_at: datetime


class RequestCreated(RequestRead):
    """A request created by hand, with its link."""

    link: LinkIssued


AnswerValue = int | str


class AnswerBody(RequestBody):
    """Answers by question key (NPS 0–10, CSAT 1–5 as numbers; text as strings) and an optional comment."""

    answers: dict[str, AnswerValue] = Field(max_length=30)
    comment: str | None = Field(default=None, max_length=5000)

    @field_validator("answers")
    @classmethod
    def _bounded(cls, value: dict[str, AnswerValue]) -> dict[str, AnswerValue]:
        for key, answer in value.items():
            if len(key) > 40:
                raise ValueError("answer keys are at most 40 characters")
            if isinstance(answer, str) and len(answer) > 5000:
                raise ValueError(f"{key}: at most 5000 characters")
        return value


class AnswerRead(_Read):
    """A recorded answer."""

    id: str
    request_id: str
    account_id: str
    contact_level: ContactLevel | None
    nps: int | None
    csat: int | None
    answers: dict[str, Any]
    comment: str | None
    answered_at: datetime
    answered_by: AnsweredBy
    answered_by_label: str
    entered_by: str | None
    low_score: bool
    follow_up_id: str | None = None


class RespondPage(BaseModel):
    """What the customer page may show of a request: its state, language, company and questions — nothing else."""

    state: Literal["open", "answered", "expired"]
    language: Language
    company_name: str
    title_zh: str
    title_en: str
    questions: list[QuestionRead]
    expires_at: datetime | None


class RespondResult(BaseModel):
    """The customer's answer was recorded."""

    state: Literal["answered"]
    language: Language
    company_name: str


class FollowUpRead(_Read):
    """A follow-up raised by a low score."""

    id: str
    account_id: str
    request_id: str
    answer_id: str
    owner_id: str
    state: FollowUpState
    state_label: str
    reason: str
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    note: str | None


class FollowUpDone(RequestBody):
    """The follow-up is done: what was done."""

    note: str = Field(min_length=1, max_length=5000)


class ResultsQuery(BaseModel):
    """The results' filters (periods by the business date each request was asked on)."""

    account_id: str | None = Field(default=None, max_length=36)
    contact_level: ContactLevel | None = None
    kind: RequestKind | None = None
    granularity: Granularity = "quarter"
    from_date: date | None = Field(default=None, alias="from")
    to_date: date | None = Field(default=None, alias="to")


class PeriodResultRead(BaseModel):
    """One period: asked, answered, NPS (−100…100), CSAT (1–5), response rate (%) and the change since the last."""

    period: str
    asked: int
    answered: int
    nps: MoneyStr | None
    csat: MoneyStr | None
    response_rate: MoneyStr | None
    nps_change: MoneyStr | None
    csat_change: MoneyStr | None


class ResultsRead(BaseModel):
    """Results of the filtered requests: all periods together, by contact level, and a page of periods (newest
    first) with their trend."""

    account_id: str | None
    contact_level: ContactLevel | None
    granularity: Granularity
    labels: dict[str, str]
    overall: PeriodResultRead
    by_level: dict[str, PeriodResultRead]
    items: list[PeriodResultRead]
    total: int
    limit: int
    offset: int
