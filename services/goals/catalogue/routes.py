"""HTTP routes of the catalogue: seasonal templates and product lines (supervisors and admins change them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from services.goals.catalogue import service, sharing
from services.goals.catalogue.schemas import (
    ProductLinePut,
    ProductLineRead,
    SeasonalTemplatePut,
    SeasonalTemplateRead,
)
from services.goals.deps import Actor, SettingsDep
from shared.api import check_if_match, check_if_match_upsert, set_etag
from shared.errors import PROBLEM_RESPONSES
from shared.service import ClockDep, PublisherDep, SessionDep

router = APIRouter(tags=["goals"], responses=PROBLEM_RESPONSES)
Name = Annotated[str, Path(min_length=1, max_length=100)]


@router.get("/goals/seasonal-templates", summary="The seasonal templates a split may use")
async def list_templates(session: SessionDep, actor: Actor, settings: SettingsDep) -> list[SeasonalTemplateRead]:
    """The setting's templates, each replaced by an API entry of the same name, and the API's own."""
    return await service.list_templates(session, settings)


@router.put("/goals/seasonal-templates/{name}", summary="Set a seasonal template (If-Match to replace)")
async def put_template(
    name: Name,
    body: SeasonalTemplatePut,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
) -> SeasonalTemplateRead:
    """12 monthly weights (first fiscal month first, ≥ 0, not all zero); supervisor or admin."""
    row = await service.template_row(session, name)
    check_if_match_upsert(request, row.version if row else None)
    read = await service.put_template(session, name=name, body=body, actor=actor, settings=settings, now=clock.now())
    set_etag(response, read.version or 1)
    return read


@router.delete("/goals/seasonal-templates/{name}", status_code=204, summary="Remove a seasonal template (If-Match)")
async def delete_template(
    name: Name, request: Request, session: SessionDep, actor: Actor, settings: SettingsDep
) -> Response:
    """The API's entry goes (a setting's template of that name applies again); a setting-only one is a 409."""
    row = await service.template_row(session, name)
    if row is not None:
        check_if_match(request, row.version)
    await service.delete_template(session, name=name, actor=actor, settings=settings)
    return Response(status_code=204)


@router.get("/goals/product-lines", summary="The product catalogue (offered and retired lines)")
async def list_product_lines(session: SessionDep, actor: Actor, settings: SettingsDep) -> list[ProductLineRead]:
    """The setting's lines in its order, then the API's; ``active: false`` lines are no longer offered."""
    return await service.list_product_lines(session, settings)


@router.put("/goals/product-lines/{name}", summary="Add, describe or retire a product line (If-Match to replace)")
async def put_product_line(
    name: Name,
    body: ProductLinePut,
    request: Request,
    response: Response,
    session: SessionDep,
    actor: Actor,
    clock: ClockDep,
    settings: SettingsDep,
    publisher: PublisherDep,
) -> ProductLineRead:
    """Supervisor or admin; ``active: false`` retires a line (penetration and default splits leave it out); the
    catalogue is announced (``goals.catalogue_changed``) so that scoring's white space follows; audited."""
    row = await service.line_row(session, name)
    check_if_match_upsert(request, row.version if row else None)
    read = await sharing.set_product_line(
        session, name=name, body=body, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    set_etag(response, read.version or 1)
    return read


@router.delete("/goals/product-lines/{name}", status_code=204, summary="Remove a product line (If-Match)")
async def delete_product_line(
    name: Name,
    request: Request,
    session: SessionDep,
    actor: Actor,
    settings: SettingsDep,
    clock: ClockDep,
    publisher: PublisherDep,
) -> Response:
    """An API-only line goes (409 while live targets are for it); a setting's line is offered as set again; the
    catalogue is announced."""
    row = await service.line_row(session, name)
    if row is not None:
        check_if_match(request, row.version)
    await sharing.remove_product_line(
        session, name=name, actor=actor, settings=settings, publisher=publisher, now=clock.now()
    )
    return Response(status_code=204)
