"""HTTP routes of routing rules: supervisors read them, admins change them."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.notifications.deps import Admin, KindQuery, Overseer, RuleForRead, RuleForUpdate
from services.notifications.routing import service
from services.notifications.routing.schemas import RECIPIENT_TOKENS, RuleCreate, RuleRead, RuleUpdate
from shared.api import check_if_match, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionDep

router = APIRouter(prefix="/notifications/rules", tags=["notifications: routing"], responses=PROBLEM_RESPONSES)


@router.get("", summary="Routing rules (event kind × tier × level → recipients, channels)")
async def list_rules(
    _: Overseer, session: SessionDep, event_kind: KindQuery = None, enabled: bool | None = None
) -> list[RuleRead]:
    """Every rule; ``event_kind`` lists those that apply to one kind (its own and the "*" rules)."""
    rules = await service.list_rules(session, event_kind=event_kind, enabled=enabled)
    return [RuleRead.model_validate(rule) for rule in rules]


@router.get("/recipients", summary="The recipient tokens a rule may name")
async def recipient_tokens(_: Overseer) -> dict[str, str]:
    """Besides these: ``role:<role>`` (every active user holding it who can see the account) and ``user:<id>``."""
    return RECIPIENT_TOKENS


@router.get("/{code}", summary="One routing rule")
async def get_rule(rule: RuleForRead, response: Response) -> RuleRead:
    """A rule with its version as ETag."""
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.post("", status_code=201, summary="Add a routing rule", response_model=RuleRead)
async def create_rule(actor: Admin, body: RuleCreate, session: SessionDep, clock: ClockDep) -> RuleRead:
    """A new rule (accepts ``Idempotency-Key``); every enabled matching rule adds its recipients."""
    read = RuleRead.model_validate(await service.create_rule(session, body=body, actor=actor, now=clock.now()))
    return read


@router.patch("/{code}", summary="Change a routing rule (If-Match)")
async def update_rule(
    rule: RuleForUpdate,
    actor: Admin,
    body: RuleUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    clock: ClockDep,
) -> RuleRead:
    """Change recipients, channels, tiers, levels or urgency; ``enabled: false`` switches a rule off."""
    check_if_match(request, rule.version)
    rule = await service.update_rule(session, rule=rule, body=body, actor=actor, now=clock.now())
    set_etag(response, rule.version)
    return RuleRead.model_validate(rule)


@router.delete("/{code}", status_code=204, summary="Remove a routing rule an admin made")
async def delete_rule(
    actor: Admin, rule: RuleForUpdate, request: Request, session: SessionDep, clock: ClockDep
) -> Response:
    """Built-in rules are disabled instead (409); ``If-Match`` with the rule's ETag."""
    check_if_match(request, rule.version)
    await service.delete_rule(session, rule=rule, actor=actor, now=clock.now())
    return Response(status_code=204)
