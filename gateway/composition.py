"""The composed views: each service's typed section, cached, the misses fetched concurrently, failures marked.

For each section: one breaker check (open → ``unavailable``, "circuit open"), one cache lookup, and the misses are
fetched from their services concurrently; a section that does not parse as its service's view model is
``unavailable`` ("invalid section"), never passed through. A section is validated and serialised once, when it is
fetched; a cache hit reuses both, so the documents (``AccountOverview``, ``PortfolioBoard``) are assembled from
JSON already made.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from gateway.access import HIDDEN, UNKNOWN
from gateway.cache import PORTFOLIO, Fetch
from gateway.runtime import GatewayRuntime
from gateway.security import Caller
from gateway.upstream import UpstreamUnavailable
from shared.errors import NotFound
from shared.views import ACCOUNT_VIEWS, PORTFOLIO_VIEWS, AccountSummary, Section, ViewModel, section_model
from shared.views.section import ViewT
from shared.vocabulary import SERVICE_NAMES, ServiceName

log = logging.getLogger("kam.gateway.composition")
INVALID_SECTION = "invalid section"


@dataclass(frozen=True)
class Wanted:
    """One section of a composed view: which service, read as which model, from where, cached under which key."""

    service: ServiceName
    view: type[ViewModel]
    path: str
    key: tuple[str, ...]


@dataclass(frozen=True)
class FetchedSection:
    """A section as the gateway read it: the typed model and its JSON, made once (cache hits reuse both)."""

    section: Section[Any]
    json: orjson.Fragment

    @classmethod
    def of(cls, section: Section[Any]) -> FetchedSection:
        """The section with its JSON, serialised as the response model would (by alias)."""
        return cls(section, orjson.Fragment(section.model_dump_json(by_alias=True)))


Sections = dict[ServiceName, FetchedSection]


def read_section(view: type[ViewT], status_code: int, body: bytes) -> Section[ViewT]:
    """A service's answer as its typed section: ``ok`` only for a 200 whose body parses as ``view``."""
    model = section_model(view)
    if status_code == 404:
        return model(status="not_found", reason="not known to this service")
    if status_code != 200:
        return model(status="unavailable", reason=f"status {status_code}")
    try:
        data = view.model_validate_json(body)
    except ValidationError as exc:
        not_json = any(error["type"] == "json_invalid" for error in exc.errors())
        return model(status="unavailable", reason="invalid JSON" if not_json else INVALID_SECTION)
    return model(status="ok", data=data)


def _unavailable_section(wanted: Wanted, reason: str) -> FetchedSection:
    return FetchedSection.of(section_model(wanted.view)(status="unavailable", reason=reason))


async def fetch_section(
    runtime: GatewayRuntime, wanted: Wanted, actor: Caller, request_id: str | None
) -> tuple[FetchedSection, bool]:
    """One service's section, and whether it may be cached (only complete answers are)."""
    upstream = runtime.upstreams[wanted.service]
    timeout = runtime.settings.view_timeout_seconds
    headers = {**actor.forward_headers(request_id), "accept": "application/json"}
    try:
        response = await asyncio.wait_for(
            upstream.request("GET", wanted.path, headers=headers, timeout=timeout), timeout=timeout + 0.05
        )
    except UpstreamUnavailable as exc:
        return _unavailable_section(wanted, exc.reason), False
    except TimeoutError:
        upstream.breaker.record_failure()
        return _unavailable_section(wanted, "timed out"), False
    section = read_section(wanted.view, response.status_code, response.content)
    if section.reason == INVALID_SECTION:  # the service broke its contract: say so, not only in the view
        log.warning("invalid view section", extra={"upstream": wanted.service, "path": wanted.path})
    return FetchedSection.of(section), section.status == "ok"


async def _fetch_miss(
    runtime: GatewayRuntime, wanted: Wanted, scope: str, fetch: Fetch[FetchedSection], use_cache: bool
) -> FetchedSection:
    if use_cache:
        return await runtime.cache.fetch(wanted.key, scope, fetch)
    fetched, _ = await fetch()
    return fetched


async def compose(
    runtime: GatewayRuntime,
    wanted: list[Wanted],
    scope: str,
    actor: Caller,
    request_id: str | None,
    use_cache: bool,
) -> Sections:
    """Every wanted section: per section one breaker check and one cache lookup, then the misses concurrently."""
    found: Sections = {}
    misses: list[tuple[Wanted, Fetch[FetchedSection]]] = []
    for want in wanted:
        if runtime.upstreams[want.service].breaker.state == "open":
            found[want.service] = _unavailable_section(want, "circuit open")
            continue
        fetch = functools.partial(fetch_section, runtime, want, actor, request_id)
        cached = runtime.cache.hit(want.key, scope, fetch) if use_cache else None
        if cached is not None:
            found[want.service] = cached
        else:
            misses.append((want, fetch))
    if misses:
        fetched = await asyncio.gather(*(_fetch_miss(runtime, w, scope, f, use_cache) for w, f in misses))
        found.update((want.service, section) for (want, _), section in zip(misses, fetched, strict=True))
    return {want.service: found[want.service] for want in wanted}


def _unavailable(sections: Sections) -> list[ServiceName]:
    return [service for service, fetched in sections.items() if fetched.section.status == "unavailable"]


def overview_json(account_id: str, account: AccountSummary | None, sections: Sections) -> bytes:
    """The JSON of an ``AccountOverview`` (field for field, in its order) from sections already serialised."""
    return orjson.dumps(
        {
            "account_id": account_id,
            "account": None if account is None else account.model_dump(mode="json"),
            "sections": {service: fetched.json for service, fetched in sections.items()},
            "unavailable": _unavailable(sections),
        }
    )


def board_json(scope: Literal["portfolio", "own"], sections: Sections) -> bytes:
    """The JSON of a ``PortfolioBoard`` (field for field, in its order) from sections already serialised."""
    return orjson.dumps(
        {
            "scope": scope,
            "sections": {service: fetched.json for service, fetched in sections.items()},
            "unavailable": _unavailable(sections),
        }
    )


async def account_overview(runtime: GatewayRuntime, actor: Caller, account_id: str, request_id: str | None) -> bytes:
    """The account 360 (an ``AccountOverview`` as JSON), or 404 for accounts the caller may not see."""
    visibility, row = await runtime.access.check(actor.principal, account_id)
    if visibility == HIDDEN:
        raise NotFound(f"Account {account_id} not found")
    wanted = [
        Wanted(s, ACCOUNT_VIEWS[s], f"/{s}/views/accounts/{account_id}", ("account", s, account_id))
        for s in SERVICE_NAMES
    ]
    use_cache = visibility != UNKNOWN and runtime.cache_active
    sections = await compose(runtime, wanted, account_id, actor, request_id, use_cache)
    if visibility == UNKNOWN and all(fetched.section.status == "not_found" for fetched in sections.values()):
        raise NotFound(f"Account {account_id} not found")
    return overview_json(account_id, row, sections)


async def portfolio(runtime: GatewayRuntime, actor: Caller, request_id: str | None) -> bytes:
    """The supervisor's board (a ``PortfolioBoard`` as JSON; for account managers: their own book)."""
    whole = actor.principal.sees_whole_portfolio
    scope_key = "portfolio" if whole else f"own:{actor.principal.user_id}"
    wanted = [
        Wanted(s, PORTFOLIO_VIEWS[s], f"/{s}/views/portfolio", ("portfolio", s, scope_key)) for s in SERVICE_NAMES
    ]
    sections = await compose(runtime, wanted, PORTFOLIO, actor, request_id, runtime.cache_active)
    return board_json("portfolio" if whole else "own", sections)
