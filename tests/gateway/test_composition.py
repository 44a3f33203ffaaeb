"""The composed views match what the services hold; changes show at once; the merged OpenAPI is complete."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from gateway.openapi import public_path
from shared.views import ACCOUNT_VIEWS, PORTFOLIO_VIEWS, AccountOverview, PortfolioBoard
from shared.vocabulary import SERVICE_NAMES
from tests.gateway.platform import Platform
from tests.support import auth, if_match, wait_until

SUPERVISOR = auth("supervisor", user_id="sup-wang")
LI = auth("account_manager", user_id="am-li")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def _steady(value: Any) -> Any:
    """The value without instants computed at request time ("since now − 30 days" and the like)."""
    if isinstance(value, dict):
        return {k: _steady(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_steady(v) for v in value]
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return "<instant>"
    return value


async def _direct(platform: Platform, service: str, path: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=platform.services[service].url, headers=headers) as client:
        return await client.get(path)


async def _matches_services(
    api: httpx.AsyncClient, platform: Platform, path: str, view: str, headers: dict[str, str]
) -> dict[str, Any] | None:
    """The composed body if every section equals the service's own view fetched right after, else None."""
    body = (await api.get(path, headers=headers)).json()
    if body["unavailable"]:
        return None
    for service, section in body["sections"].items():
        direct = await _direct(platform, service, view.format(service=service), headers)
        assert direct.status_code == 200, (service, direct.text)
        if section["status"] != "ok" or _steady(section["data"]) != _steady(direct.json()):
            return None
    return body


async def test_overview_matches_each_services_own_view_of_the_account(api: httpx.AsyncClient, platform: Platform):
    account = platform.accounts["li"]
    path, view = f"/accounts/{account}/overview", f"/{{service}}/views/accounts/{account}"
    for headers in (SUPERVISOR, LI):
        for _ in range(2):  # the second answer comes from the cache and must match too
            # Bounded retry: a service may still be applying an event (e.g. re-scoring) between the two reads.
            body = await wait_until(
                lambda h=headers: _matches_services(api, platform, path, view, h), timeout=10, message="a match"
            )
            assert body["account_id"] == account and set(body["sections"]) == set(platform.services)
            assert body["account"]["name"] == "华东精密制造有限公司" and body["account"]["owner_id"] == "am-li"


async def test_portfolio_matches_each_services_board_for_supervisor_and_own_book_for_manager(
    api: httpx.AsyncClient, platform: Platform
):
    boards = {}
    for headers, scope in ((SUPERVISOR, "portfolio"), (LI, "own")):
        for _ in range(2):
            board = await wait_until(
                lambda h=headers: _matches_services(api, platform, "/portfolio", "/{service}/views/portfolio", h),
                timeout=10,
                message="a match",
            )
            assert board["scope"] == scope
        boards[scope] = board
    assert platform.accounts["zhang"] not in str(boards["own"])
    assert platform.accounts["zhang"] in str(boards["portfolio"]) or boards["portfolio"] != boards["own"]


async def test_overview_and_portfolio_sections_parse_into_each_services_typed_view_model(
    api: httpx.AsyncClient, platform: Platform
):
    async def every_section_ok(path: str) -> dict[str, Any] | None:
        body = (await api.get(path, headers=SUPERVISOR)).json()
        return body if all(section["status"] == "ok" for section in body["sections"].values()) else None

    overview_body = await wait_until(
        lambda: every_section_ok(f"/accounts/{platform.accounts['li']}/overview"), timeout=10, message="all sections"
    )
    overview = AccountOverview.model_validate(overview_body)
    assert overview.account is not None and overview.account.owner_id == "am-li"
    board_body = await wait_until(lambda: every_section_ok("/portfolio"), timeout=10, message="all sections")
    board = PortfolioBoard.model_validate(board_body)
    for document, body, views in ((overview, overview_body, ACCOUNT_VIEWS), (board, board_body, PORTFOLIO_VIEWS)):
        for service in SERVICE_NAMES:
            section = getattr(document.sections, service)
            assert isinstance(section.data, views[service]), service
        assert document.model_dump(mode="json") == body  # the typed models say all there is in the JSON


async def test_a_change_through_the_api_is_in_the_very_next_overview(api: httpx.AsyncClient, platform: Platform):
    account = platform.accounts["shared"]
    path = f"/accounts/{account}/overview"
    before = (await api.get(path, headers=SUPERVISOR)).json()  # warms the cache
    assert "北京联合能源集团" in str(before["sections"]["scoring"]["data"])
    current = await api.get(f"/accounts/{account}", headers=SUPERVISOR)
    changed = await api.patch(
        f"/accounts/{account}", json={"name": "北京联合能源集团（更名）"}, headers={**SUPERVISOR, **if_match(current)}
    )
    assert changed.status_code == 200, changed.text
    after = (await api.get(path, headers=SUPERVISOR)).json()
    assert "北京联合能源集团（更名）" in str(after["sections"]["scoring"]["data"])


async def test_a_change_made_behind_the_gateway_reaches_the_overview_through_events(
    api: httpx.AsyncClient, platform: Platform
):
    account = platform.accounts["zhang"]
    path = f"/accounts/{account}/overview"
    assert "深圳云启科技" in str((await api.get(path, headers=SUPERVISOR)).json()["sections"]["scoring"]["data"])
    async with httpx.AsyncClient(base_url=platform.services["scoring"].url, headers=SUPERVISOR) as scoring:
        current = await scoring.get(f"/accounts/{account}")
        body = {"name_en": "Yunqi Tech"}
        response = await scoring.patch(f"/accounts/{account}", json=body, headers=if_match(current))
        assert response.status_code == 200, response.text
    started = time.monotonic()

    async def shows_change() -> bool:
        body = (await api.get(path, headers=SUPERVISOR)).json()
        return "Yunqi Tech" in str(body["sections"]["scoring"]["data"])

    await wait_until(shows_change, timeout=5, message="the event to invalidate the cached section")
    assert time.monotonic() - started < 2.0


async def test_every_route_in_the_services_openapi_is_in_the_gateways(api: httpx.AsyncClient, platform: Platform):
    merged = (await api.get(f"{platform.gateway.url}/openapi.json")).json()
    total = 0
    for name, proc in platform.services.items():
        own = (await _direct(platform, name, "/openapi.json", {})).json()
        for path, item in own["paths"].items():
            public = public_path(name, path)
            assert public in merged["paths"], (name, path)
            for method in item:
                assert method in merged["paths"][public], (name, method, path)
                total += 1
        for schema in own.get("components", {}).get("schemas", {}):
            shared_name = schema == "Problem"  # one shared problem schema (shared.openapi), not one per service
            assert (schema if shared_name else f"{name}__{schema}") in merged["components"]["schemas"]
    assert total > 20
    for own_route in (
        "/api/v1/auth/token",
        "/api/v1/accounts/{account_id}/overview",
        "/api/v1/portfolio",
        "/api/v1/users",
    ):
        assert own_route in merged["paths"]
    assert {"OAuth2Password", "ApiKey"} <= set(merged["components"]["securitySchemes"])
    assert (await api.get(f"{platform.gateway.url}/docs")).status_code == 200
