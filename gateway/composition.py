"""The composed views: each service's section fetched concurrently, cached, and marked when unavailable."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from gateway.access import HIDDEN, UNKNOWN
from gateway.cache import PORTFOLIO
from gateway.config import SERVICE_NAMES
from gateway.runtime import GatewayRuntime
from gateway.security import Caller
from gateway.upstream import UpstreamUnavailable
from shared.errors import NotFound

Section = dict[str, Any]


def _headers(caller: Caller, request_id: str | None) -> dict[str, str]:
    headers = {"authorization": f"Bearer {caller.forward_token}", "accept": "application/json"}
    if request_id:
        headers["x-request-id"] = request_id
    return headers


async def fetch_section(
    runtime: GatewayRuntime, service: str, path: str, caller: Caller, request_id: str | None
) -> tuple[Section, bool]:
    """One service's view as a section, and whether it may be cached (only complete answers are)."""
    upstream = runtime.upstreams[service]
    try:
        response = await asyncio.wait_for(
            upstream.request(
                "GET", path, headers=_headers(caller, request_id), timeout=runtime.settings.view_timeout_seconds
            ),
            timeout=runtime.settings.view_timeout_seconds + 0.05,
        )
    except UpstreamUnavailable as exc:
        return {"status": "unavailable", "data": None, "reason": exc.reason}, False
    except TimeoutError:
        upstream.breaker.record_failure()
        return {"status": "unavailable", "data": None, "reason": "timed out"}, False
    if response.status_code == 404:
        return {"status": "not_found", "data": None, "reason": "not known to this service"}, False
    if response.status_code != 200:
        return {"status": "unavailable", "data": None, "reason": f"status {response.status_code}"}, False
    try:
        data = response.json()
    except ValueError:
        return {"status": "unavailable", "data": None, "reason": "invalid JSON"}, False
    return {"status": "ok", "data": data, "reason": None}, True


async def _section(
    runtime: GatewayRuntime,
    service: str,
    path: str,
    key: tuple[str, ...],
    scope: str,
    caller: Caller,
    request_id: str | None,
    use_cache: bool,
) -> Section:
    if runtime.upstreams[service].breaker.state == "open":
        return {"status": "unavailable", "data": None, "reason": "circuit open"}
    if not use_cache:
        section, _ = await fetch_section(runtime, service, path, caller, request_id)
        return section
    return await runtime.cache.get_or_fetch(  # type: ignore[no-any-return]
        key, scope, lambda: fetch_section(runtime, service, path, caller, request_id)
    )


async def _sections(
    runtime: GatewayRuntime,
    wanted: dict[str, tuple[str, tuple[str, ...]]],
    scope: str,
    caller: Caller,
    request_id: str | None,
    use_cache: bool,
) -> dict[str, Section]:
    """Every service's section: cache hits at once, the rest fetched concurrently."""
    found: dict[str, Section] = {}
    missing = []
    for service, (path, key) in wanted.items():
        if use_cache and runtime.upstreams[service].breaker.state != "open":
            refresh = functools.partial(fetch_section, runtime, service, path, caller, request_id)
            cached = runtime.cache.hit(key, scope, refresh)
            if cached is not None:
                found[service] = cached
                continue
        missing.append(service)
    if missing:
        results = await asyncio.gather(
            *(_section(runtime, s, wanted[s][0], wanted[s][1], scope, caller, request_id, use_cache) for s in missing)
        )
        found.update(zip(missing, results, strict=True))
    return {s: found[s] for s in wanted}


async def account_overview(
    runtime: GatewayRuntime, caller: Caller, account_id: str, request_id: str | None
) -> dict[str, Any]:
    """The account 360, or 404 for accounts the caller may not see."""
    visibility, row = await runtime.access.check(caller.principal, account_id)
    if visibility == HIDDEN:
        raise NotFound(f"Account {account_id} not found")
    use_cache = visibility != UNKNOWN and runtime.cache_active
    sections = await _sections(
        runtime,
        {s: (f"/{s}/views/accounts/{account_id}", ("account", s, account_id)) for s in SERVICE_NAMES},
        account_id,
        caller,
        request_id,
        use_cache,
    )
    if visibility == UNKNOWN and all(s["status"] == "not_found" for s in sections.values()):
        raise NotFound(f"Account {account_id} not found")
    return {
        "account_id": account_id,
        "account": row,
        "sections": sections,
        "unavailable": [s for s, v in sections.items() if v["status"] == "unavailable"],
    }


async def portfolio(runtime: GatewayRuntime, caller: Caller, request_id: str | None) -> dict[str, Any]:
    """The supervisor's board (for account managers: their own book, as the services filter it)."""
    whole = caller.principal.sees_whole_portfolio
    scope_key = "portfolio" if whole else f"own:{caller.principal.user_id}"
    sections = await _sections(
        runtime,
        {s: (f"/{s}/views/portfolio", ("portfolio", s, scope_key)) for s in SERVICE_NAMES},
        PORTFOLIO,
        caller,
        request_id,
        runtime.cache_active,
    )
    return {
        "scope": "portfolio" if whole else "own",
        "sections": sections,
        "unavailable": [s for s, v in sections.items() if v["status"] == "unavailable"],
    }
