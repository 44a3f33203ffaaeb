"""Survey templates (versioned: a published template is never changed, an edit makes the next version) and
schedules (tier × contact level × cadence)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.complaints.surveys.models import SurveySchedule, SurveyTemplate
from services.complaints.surveys.schemas import (
    ScheduleCreate,
    ScheduleUpdate,
    TemplateCreate,
    TemplateUpdate,
)
from shared.api import PageParams
from shared.auth import Principal
from shared.errors import Conflict, InvalidTransition, NotFound, Unprocessable

# A template's life: a draft is edited in place and published; publishing retires the code's published version.
TEMPLATE_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"published"}),
    "published": frozenset({"retired"}),
    "retired": frozenset(),
}


def _move_template(template: SurveyTemplate, target: str, now: datetime) -> None:
    if target not in TEMPLATE_TRANSITIONS[template.state]:
        raise InvalidTransition(
            f"A {template.state} template cannot become {target}",
            current=template.state,
            allowed=sorted(TEMPLATE_TRANSITIONS[template.state]),
        )
    template.state = target
    template.updated_at = now


async def create_template(
    session: AsyncSession, *, body: TemplateCreate, actor: Principal, now: datetime
) -> SurveyTemplate:
    """Version 1 of a new code, as a draft (409 when the code exists)."""
    if await session.scalar(select(SurveyTemplate.id).where(SurveyTemplate.code == body.code).limit(1)):
        raise Conflict(f"Template code {body.code!r} exists; edit it to make a new version", field="code")
    template = SurveyTemplate(
        id=str(uuid.uuid4()),
        code=body.code,
        version=1,
        state="draft",
        name_zh=body.name_zh,
        name_en=body.name_en,
        questions=[q.model_dump() for q in body.questions],
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    await session.flush()
    return template


async def update_template(
    session: AsyncSession, *, template: SurveyTemplate, body: TemplateUpdate, actor: Principal, now: datetime
) -> SurveyTemplate:
    """A draft changes in place; a published or retired one stays as it was asked and a new draft version is made
    from it with the change (only one draft per code at a time)."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if template.state == "draft":
        target = template
    else:
        draft = await session.scalar(
            select(SurveyTemplate).where(SurveyTemplate.code == template.code, SurveyTemplate.state == "draft")
        )
        if draft is not None:
            raise Conflict(f"Template {template.code!r} already has a draft (version {draft.version}); edit that")
        latest = await session.scalar(
            select(func.max(SurveyTemplate.version)).where(SurveyTemplate.code == template.code)
        )
        target = SurveyTemplate(
            id=str(uuid.uuid4()),
            code=template.code,
            version=int(latest or 0) + 1,
            state="draft",
            name_zh=template.name_zh,
            name_en=template.name_en,
            questions=list(template.questions),
            created_by=actor.user_id,
            created_at=now,
        )
        session.add(target)
    for key, value in changes.items():
        setattr(target, key, value)
    target.updated_at = now
    await session.flush()
    return target


async def publish_template(session: AsyncSession, *, template: SurveyTemplate, now: datetime) -> SurveyTemplate:
    """draft → published; the code's version published before is retired (schedules take the new one)."""
    current = await session.scalar(
        select(SurveyTemplate).where(SurveyTemplate.code == template.code, SurveyTemplate.state == "published")
    )
    _move_template(template, "published", now)
    if current is not None and current.id != template.id:
        _move_template(current, "retired", now)
    template.published_at = now
    await session.flush()
    return template


async def retire_template(session: AsyncSession, *, template: SurveyTemplate, now: datetime) -> SurveyTemplate:
    """published → retired (no new requests use it; answers already given keep it)."""
    _move_template(template, "retired", now)
    await session.flush()
    return template


async def published_template(session: AsyncSession, *, code: str, field: str = "template_code") -> SurveyTemplate:
    """The published version of a code (422 naming ``field`` when it has none)."""
    template = await session.scalar(
        select(SurveyTemplate).where(SurveyTemplate.code == code, SurveyTemplate.state == "published")
    )
    if template is None:
        raise Unprocessable(f"{field}: template {code!r} has no published version", field=field)
    return template


async def get_template(session: AsyncSession, *, template_id: str) -> SurveyTemplate:
    """One template version (404)."""
    template = await session.get(SurveyTemplate, template_id)
    if template is None:
        raise NotFound(f"Survey template {template_id} not found")
    return template


async def list_templates(
    session: AsyncSession, *, page: PageParams, code: str | None, state: str | None
) -> tuple[Sequence[SurveyTemplate], int]:
    """Templates by code and version (newest version first), filtered."""
    query = select(SurveyTemplate)
    if code:
        query = query.where(SurveyTemplate.code == code)
    if state:
        query = query.where(SurveyTemplate.state == state)
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(SurveyTemplate.code, SurveyTemplate.version.desc()).limit(page.limit).offset(page.offset)
    return (await session.execute(ordered)).scalars().all(), total


async def create_schedule(
    session: AsyncSession, *, body: ScheduleCreate, actor: Principal, now: datetime
) -> SurveySchedule:
    """A schedule (its template code must have a published version)."""
    await published_template(session, code=body.template_code)
    schedule = SurveySchedule(
        id=str(uuid.uuid4()),
        **body.model_dump(),
        version=1,
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(schedule)
    await session.flush()
    return schedule


async def update_schedule(
    session: AsyncSession, *, schedule: SurveySchedule, body: ScheduleUpdate, now: datetime
) -> SurveySchedule:
    """Change name, cadence, template or pause it; the version bumps."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "template_code" in changes:
        await published_template(session, code=changes["template_code"])
    for key, value in changes.items():
        setattr(schedule, key, value)
    schedule.version += 1
    schedule.updated_at = now
    await session.flush()
    return schedule


async def get_schedule(session: AsyncSession, *, schedule_id: str) -> SurveySchedule:
    """One schedule (404)."""
    schedule = await session.get(SurveySchedule, schedule_id)
    if schedule is None:
        raise NotFound(f"Survey schedule {schedule_id} not found")
    return schedule


async def list_schedules(
    session: AsyncSession, *, page: PageParams, tier: str | None, active: bool | None
) -> tuple[Sequence[SurveySchedule], int]:
    """Schedules by tier and level, filtered."""
    query = select(SurveySchedule)
    if tier:
        query = query.where(SurveySchedule.tier == tier)
    if active is not None:
        query = query.where(SurveySchedule.active.is_(active))
    total = int(await session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    ordered = query.order_by(SurveySchedule.tier, SurveySchedule.contact_level, SurveySchedule.created_at)
    return (await session.execute(ordered.limit(page.limit).offset(page.offset))).scalars().all(), total


# The templates a fresh installation starts with (published; editable like any other, never overwritten).
DEFAULT_TEMPLATES: tuple[dict[str, object], ...] = (
    {
        "code": "relationship",
        "name_zh": "客户关系满意度调研",
        "name_en": "Customer relationship survey",
        "questions": [
            {"key": "nps", "kind": "nps", "text_zh": "您有多大可能向同行推荐我们？（0–10）",
             "text_en": "How likely are you to recommend us to a peer? (0–10)", "required": True},
            {"key": "csat", "kind": "csat", "text_zh": "您对我们的整体服务满意吗？（1–5）",
             "text_en": "How satisfied are you with our service overall? (1–5)", "required": True},
            {"key": "comment", "kind": "text", "text_zh": "您希望我们改进什么？",
             "text_en": "What should we improve?", "required": False},
        ],
    },
    {
        "code": "complaint-revisit",
        "name_zh": "投诉处理回访",
        "name_en": "Complaint follow-up visit",
        "questions": [
            {"key": "csat", "kind": "csat", "text_zh": "您对这次投诉的处理结果满意吗？（1–5）",
             "text_en": "How satisfied are you with how your complaint was resolved? (1–5)", "required": True},
            {"key": "comment", "kind": "text", "text_zh": "还有什么想告诉我们的吗？",
             "text_en": "Anything else you would like to tell us?", "required": False},
        ],
    },
)  # fmt: skip


async def seed_templates(session: AsyncSession, *, now: datetime) -> int:
    """Publish the default templates whose code does not exist yet; returns how many were added."""
    have = set((await session.execute(select(SurveyTemplate.code).distinct())).scalars())
    added = 0
    for spec in DEFAULT_TEMPLATES:
        if spec["code"] in have:
            continue
        body = TemplateCreate.model_validate(spec)
        template = await create_template(session, body=body, actor=Principal("system", frozenset()), now=now)
        await publish_template(session, template=template, now=now)
        added += 1
    return added
