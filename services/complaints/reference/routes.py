"""HTTP routes of the reference data: the taxonomy, the severity matrix, the SLA policies and their history, the
escalation ladders."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from services.complaints.calendars.service import rules_warnings
from services.complaints.deps import Actor, RulesDep, Supervisor
from services.complaints.intake import timers
from services.complaints.labels import Channel
from services.complaints.reference import ladders, matrix, preview, service
from services.complaints.reference.models import ANY, EscalationLadder, SlaPolicy
from services.complaints.reference.queries import ladder_reads, ladder_row, matrix_read
from services.complaints.reference.schemas import (
    CATEGORY_PATTERN,
    CategoryBody,
    CategoryCode,
    CategoryRead,
    LadderBody,
    LadderRead,
    MatrixBody,
    MatrixRead,
    PolicyBody,
    PolicyChange,
    PolicyList,
    PolicyRead,
    PolicyUpdated,
    SlaPreview,
    SlaPreviewBody,
    TierName,
)
from shared.api import Instant, check_if_match, check_if_match_upsert, set_etag
from shared.clock import business_date
from shared.errors import PROBLEM_RESPONSES, NotFound
from shared.service import ClockDep, PublisherDep, SessionDep
from shared.vocabulary import Severity

router = APIRouter(tags=["complaints"], responses=PROBLEM_RESPONSES)
# The conditions of a policy beyond tier × severity, in the query string (``*`` or absent: any).
PolicyCategory = Annotated[str, Query(pattern=r"^(\*|[a-z][a-z0-9_]{0,49})$", description="A category or *")]
PolicyChannel = Annotated[Literal["*", Channel], Query(description="A channel or *")]


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
    category: Annotated[str | None, Query(pattern=CATEGORY_PATTERN)] = None,
    channel: Channel | None = None,
) -> SlaPreview:
    """First-response, customer-update and resolution due and warning times by the policy in force today."""
    body = SlaPreviewBody(tier=tier, severity=severity, received_at=received_at, category=category, channel=channel)
    return await preview.preview_sla(session, body=body, rules=rules)


@router.post("/complaints/sla-preview", summary="When would a complaint received at T be due? (JSON body)")
async def post_sla_preview(session: SessionDep, _: Actor, rules: RulesDep, body: SlaPreviewBody) -> SlaPreview:
    """The same as ``GET /complaints/sla-preview``, the instant in a JSON body."""
    return await preview.preview_sla(session, body=body, rules=rules)


async def conditions_for_upsert(
    tier: TierName,
    severity: Severity,
    request: Request,
    session: SessionDep,
    category: PolicyCategory = ANY,
    channel: PolicyChannel = "*",
) -> tuple[str, str]:
    """A policy's conditions (category, channel) for its upsert: ``If-Match`` with its ``version`` once it exists."""
    existing = await session.get(SlaPolicy, (tier, severity, category, channel))
    check_if_match_upsert(request, existing.version if existing is not None else None)
    return category, channel


ConditionsForUpsert = Annotated[tuple[str, str], Depends(conditions_for_upsert)]


@router.put("/complaints/sla-policies/{tier}/{severity}", summary="Change a policy (recomputes open timers)")
async def put_policy(
    tier: TierName,
    severity: Severity,
    body: PolicyBody,
    conditions: ConditionsForUpsert,
    response: Response,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> PolicyUpdated:
    """Change or add a policy (``?category=&channel=`` narrow it); the open complaints' timers are recomputed."""
    category, channel = conditions
    policy, recomputed = await timers.update_policy(
        session,
        tier=tier,
        severity=severity,
        body=body,
        actor=actor,
        now=clock.now(),
        rules=rules,
        publisher=publisher,
        category=category,
        channel=channel,
    )
    set_etag(response, policy.version)
    return PolicyUpdated(policy=PolicyRead.model_validate(policy), recomputed=recomputed)


@router.get("/complaints/sla-policies/{tier}/{severity}", summary="One policy (its ETag, to change it)")
async def get_policy(
    tier: TierName,
    severity: Severity,
    response: Response,
    session: SessionDep,
    _: Actor,
    category: PolicyCategory = ANY,
    channel: PolicyChannel = "*",
) -> PolicyRead:
    """The policy of these conditions (``?category=&channel=``; 404 when none is stored for them)."""
    policy = await session.get(SlaPolicy, (tier, severity, category, channel))
    if policy is None:
        raise NotFound(f"No SLA policy {service.policy_key(tier, severity, category, channel)}")
    set_etag(response, policy.version)
    return PolicyRead.model_validate(policy)


@router.get("/complaints/sla-policies/{tier}/{severity}/history", summary="Every change of one policy")
async def get_policy_history(
    tier: TierName,
    severity: Severity,
    session: SessionDep,
    _: Actor,
    category: PolicyCategory = ANY,
    channel: PolicyChannel = "*",
) -> list[PolicyChange]:
    """Who changed the policy when, and its fields before and after (newest first; 404 for no such policy)."""
    if await session.get(SlaPolicy, (tier, severity, category, channel)) is None:
        raise NotFound(f"No SLA policy {service.policy_key(tier, severity, category, channel)}")
    rows = await service.policy_history(session, key=service.policy_key(tier, severity, category, channel))
    return [PolicyChange.model_validate(r) for r in rows]


@router.get("/complaints/severity-matrix", summary="The severity matrix (impact × urgency → severity)")
async def get_severity_matrix(response: Response, session: SessionDep, _: Actor) -> MatrixRead:
    """The matrix intake uses when a complaint gives impact and urgency instead of a severity."""
    stored = await matrix.current_matrix(session)
    set_etag(response, stored.version)
    return matrix_read(stored)


@router.put("/complaints/severity-matrix", summary="Replace the severity matrix (complete)")
async def put_severity_matrix(
    body: MatrixBody, request: Request, response: Response, session: SessionDep, actor: Supervisor, clock: ClockDep
) -> MatrixRead:
    """Every impact × urgency exactly once (422 naming ``cells`` otherwise); ``If-Match`` with its version."""
    check_if_match(request, (await matrix.current_matrix(session)).version)
    stored = await matrix.save_matrix(session, body=body, actor=actor, now=clock.now())
    set_etag(response, stored.version)
    return matrix_read(stored)


@router.get("/complaints/escalation-ladders", summary="The escalation ladder of every tier")
async def get_ladders(session: SessionDep, _: Actor, rules: RulesDep) -> list[LadderRead]:
    """Each tier's stored ladder, or where none is stored the one that applies (``default``'s or the settings')."""
    return await ladder_reads(session, rules=rules)


@router.put("/complaints/escalation-ladders/{tier}", summary="Set a tier's escalation ladder")
async def put_ladder(
    tier: TierName,
    body: LadderBody,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
) -> LadderRead:
    """Any number of rungs above the owner, each a known active supervisor or admin, or a role someone holds."""
    existing = await session.get(EscalationLadder, tier)
    check_if_match_upsert(request, existing.version if existing is not None else None)
    ladder = await ladders.save_ladder(session, tier=tier, body=body, actor=actor, now=clock.now())
    set_etag(response, ladder.version)
    return LadderRead.model_validate({**ladder_row(ladder), "source": "stored"})
