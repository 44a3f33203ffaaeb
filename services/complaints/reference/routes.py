"""HTTP routes of the reference data: the taxonomy and the SLA policies."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.complaints.calendars.service import rules_warnings
from services.complaints.deps import Actor, RulesDep, Supervisor
from services.complaints.intake import timers
from services.complaints.reference import preview, service
from services.complaints.reference.models import SlaPolicy
from services.complaints.reference.schemas import (
    CategoryBody,
    CategoryCode,
    CategoryRead,
    PolicyBody,
    PolicyList,
    PolicyRead,
    PolicyUpdated,
    SlaPreview,
    SlaPreviewBody,
    TierName,
)
from shared.api import Instant, check_if_match_upsert, set_etag
from shared.clock import business_date
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep
from shared.vocabulary import Severity

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)


@router.get("/complaints/categories", summary="The complaint taxonomy (中文/English)")
async def get_categories(session: SessionDep, _: Actor, include_inactive: bool = False) -> list[CategoryRead]:
    """Categories in display order."""
    rows = await service.list_categories(session, include_inactive=include_inactive)
    return [CategoryRead.model_validate(r) for r in rows]


@router.put("/complaints/categories/{code}", summary="Add or relabel a category")
async def put_category(code: CategoryCode, body: CategoryBody, session: SessionDep, _: Supervisor) -> CategoryRead:
    """Supervisors maintain the taxonomy."""
    category = await service.upsert_category(session, code=code, body=body)
    return CategoryRead.model_validate(category)


@router.get("/complaints/sla-policies", summary="SLA policies per tier × severity, with calendar warnings")
async def get_policies(session: SessionDep, _: Actor, clock: ClockDep, rules: RulesDep) -> PolicyList:
    """Every policy (``default`` applies to accounts without a tier); ``calendar_warnings`` when the business
    calendar ends within 60 days or a year it needs has no data (its weekdays then all count as working days)."""
    now = clock.now()
    today = business_date(now, rules.zone)
    return PolicyList(
        items=[PolicyRead.model_validate(p) for p in await service.list_policies(session)],
        sla_calendar=rules.calendar.code,
        calendar_ends_on=rules.calendar.ends_on(today),
        calendar_days_remaining=rules.calendar.days_remaining(today),
        calendar_warnings=rules_warnings(rules, now=now),
    )


@router.get("/complaints/sla-preview", summary="When would a complaint received at T be due?")
async def get_sla_preview(
    session: SessionDep,
    _: Actor,
    rules: RulesDep,
    received_at: Annotated[Instant, Query(description="Any instant, past or future, with its offset (+ as %2B)")],
    tier: TierName = "default",
    severity: Severity = "medium",
) -> SlaPreview:
    """First-response, customer-update and resolution due and warning times by the policy in force today."""
    body = SlaPreviewBody(tier=tier, severity=severity, received_at=received_at)
    return await preview.preview_sla(session, body=body, rules=rules)


@router.post("/complaints/sla-preview", summary="When would a complaint received at T be due? (JSON body)")
async def post_sla_preview(session: SessionDep, _: Actor, rules: RulesDep, body: SlaPreviewBody) -> SlaPreview:
    """The same as ``GET /complaints/sla-preview``, the instant in a JSON body."""
    return await preview.preview_sla(session, body=body, rules=rules)


@router.put("/complaints/sla-policies/{tier}/{severity}", summary="Change a policy (recomputes open timers)")
async def put_policy(
    tier: TierName,
    severity: Severity,
    body: PolicyBody,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> PolicyUpdated:
    """Change one policy (``If-Match`` with its ``version`` once it exists); the stored timers of the open complaints
    it governs are recomputed."""
    existing = await session.get(SlaPolicy, (tier, severity))
    check_if_match_upsert(request, existing.version if existing is not None else None)
    policy, recomputed = await timers.update_policy(
        session,
        tier=tier,
        severity=severity,
        body=body,
        actor=actor,
        now=clock.now(),
        rules=rules,
        publisher=publisher,
    )
    set_etag(response, policy.version)
    return PolicyUpdated(policy=PolicyRead.model_validate(policy), recomputed=recomputed)
