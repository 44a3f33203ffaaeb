"""HTTP routes of the reference data: the taxonomy and the SLA policies."""

from __future__ import annotations

from fastapi import APIRouter

from services.complaints.deps import Actor, RulesDep, Supervisor
from services.complaints.intake import timers
from services.complaints.reference import service
from services.complaints.reference.schemas import (
    CategoryBody,
    CategoryRead,
    PolicyBody,
    PolicyRead,
    PolicyUpdated,
    TierName,
)
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
async def put_category(code: str, body: CategoryBody, session: SessionDep, _: Supervisor) -> CategoryRead:
    """Supervisors maintain the taxonomy."""
    category = await service.upsert_category(session, code=code, body=body)
    return CategoryRead.model_validate(category)


@router.get("/complaints/sla-policies", summary="SLA policies per tier × severity")
async def get_policies(session: SessionDep, _: Actor) -> list[PolicyRead]:
    """Every policy (``default`` applies to accounts without a tier)."""
    return [PolicyRead.model_validate(p) for p in await service.list_policies(session)]


@router.put("/complaints/sla-policies/{tier}/{severity}", summary="Change a policy (recomputes open timers)")
async def put_policy(
    tier: TierName,
    severity: Severity,
    body: PolicyBody,
    session: SessionDep,
    actor: Supervisor,
    clock: ClockDep,
    rules: RulesDep,
    publisher: PublisherDep,
) -> PolicyUpdated:
    """Change one policy; the stored timers of the open complaints it governs are recomputed."""
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
    return PolicyUpdated(policy=PolicyRead.model_validate(policy), recomputed=recomputed)
