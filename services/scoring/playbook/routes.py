"""HTTP routes of the playbook: the quadrant configuration and the strategy rules (supervisors and admins change
them with ``If-Match``), and the product catalogue as scoring knows it."""

from __future__ import annotations

from enum import Enum

from fastapi import APIRouter, Request, Response

from services.scoring.deps import Actor, Settings, Supervisor
from services.scoring.playbook import service
from services.scoring.playbook.schemas import CatalogueRead, QuadrantConfigRead, RuleTableRead
from services.scoring.quadrant import QuadrantConfig
from services.scoring.strategy import RuleTable
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(responses=PROBLEM_RESPONSES)
TAGS: list[str | Enum] = ["scoring"]


@router.get("/scoring/strategy/quadrant", tags=TAGS, summary="The value × potential quadrant's configuration")
async def get_quadrant_config(session: SessionDep, actor: Actor, response: Response) -> QuadrantConfigRead:
    """Axes (dimensions or indicators of the explained score, weighted), cut-offs (per tier where set), signal
    thresholds; version 0 is the defaults."""
    read = await service.quadrant_config(session)
    set_etag(response, read.version)
    return read


@router.put("/scoring/strategy/quadrant", tags=TAGS, summary="Change the quadrant's configuration (If-Match)")
async def put_quadrant_config(
    body: QuadrantConfig, request: Request, response: Response, session: SessionDep, actor: Supervisor, clock: ClockDep
) -> QuadrantConfigRead:
    """Supervisor or admin; unknown dimensions or indicators are a 422 naming the field; audited."""
    check_if_match(request, await service.setting_version(session, service.QUADRANT))
    read = await service.put_quadrant_config(session, body=body, actor=actor, now=clock.now())
    set_etag(response, read.version)
    return read


@router.get("/scoring/strategy/rules", tags=TAGS, summary="The strategy rules (first match wins)")
async def get_rules(session: SessionDep, actor: Actor, response: Response) -> RuleTableRead:
    """Each rule: conditions on status, tier, quadrant and signals, a bilingual title and actions; version 0 is
    the defaults."""
    read = await service.rule_table(session)
    set_etag(response, read.version)
    return read


@router.put("/scoring/strategy/rules", tags=TAGS, summary="Replace the strategy rules (If-Match)")
async def put_rules(
    body: RuleTable, request: Request, response: Response, session: SessionDep, actor: Supervisor, clock: ClockDep
) -> RuleTableRead:
    """Supervisor or admin. Every account must reach a rule, and a former account a rule for former accounts only
    (win-back), else a 422 naming the rule; audited."""
    check_if_match(request, await service.setting_version(session, service.RULES))
    read = await service.put_rule_table(session, body=body, actor=actor, now=clock.now())
    set_etag(response, read.version)
    return read


@router.get("/scoring/product-catalogue", tags=TAGS, summary="The product catalogue white space is counted against")
async def get_catalogue(session: SessionDep, actor: Actor, settings: Settings) -> CatalogueRead:
    """Goals' catalogue as last announced (``goals.catalogue_changed``), else the setting ``product_lines``."""
    return await service.catalogue_read(session, fallback=settings.product_lines)
