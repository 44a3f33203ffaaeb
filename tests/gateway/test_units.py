"""Pure parts of the gateway: the role matrix, the circuit breaker, rate limits, the view cache, OpenAPI merge."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from gateway.cache import PORTFOLIO, SectionCache
from gateway.composition import FetchedSection, board_json, overview_json, read_section
from gateway.edge import RateLimiter, TooManyRequests
from gateway.openapi import merge_openapi, public_path
from gateway.policy import MATRIX, PUBLIC, allowed, rule_for
from gateway.proxy import route_to_service
from gateway.upstream import CircuitBreaker
from gateway.user_index import Standing, UserIndex
from shared.auth import ACCOUNT_MANAGER, ADMIN, RISK_OFFICER, ROLES, SERVICE, SUPERVISOR, VIEWER
from shared.errors import NotFound
from shared.views import (
    ACCOUNT_VIEWS,
    PORTFOLIO_VIEWS,
    AccountOverview,
    AccountSections,
    AccountSummary,
    PortfolioBoard,
    PortfolioSections,
    Section,
    ViewModel,
)
from shared.vocabulary import SERVICE_NAMES


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


async def _get_or_fetch(cache: SectionCache, key: tuple[str, ...], scope: str, fetch):
    """A reader's path through the cache, as the composition takes it: a fresh hit at once, else a shared fetch."""
    value = cache.hit(key, scope, fetch)
    return value if value is not None else await cache.fetch(key, scope, fetch)


def test_every_role_is_allowed_exactly_the_rules_naming_it_and_admin_everything_but_public_routes():
    for rule in MATRIX:
        path = rule.example.replace("{account}", "acc-1")
        for method in rule.methods:
            assert rule_for(method, path) is rule, (method, path)
            for role in ROLES:
                expected = rule.roles is PUBLIC or role in rule.roles or role == ADMIN
                assert allowed(method, path, frozenset({role})) is expected, (role, method, path)


def test_viewer_reads_but_never_writes_and_only_risk_roles_write_risk():
    assert allowed("GET", "/api/v1/complaints/complaints", frozenset({VIEWER}))
    assert not allowed("POST", "/api/v1/complaints/complaints", frozenset({VIEWER}))
    assert allowed("POST", "/api/v1/complaints/complaints", frozenset({ACCOUNT_MANAGER}))
    assert not allowed("POST", "/api/v1/risk/alerts", frozenset({ACCOUNT_MANAGER}))
    assert allowed("POST", "/api/v1/risk/alerts", frozenset({RISK_OFFICER}))
    assert allowed("PATCH", "/api/v1/accounts/a-1", frozenset({SUPERVISOR}))
    assert not allowed("GET", "/api/v1/users", frozenset({SUPERVISOR}))
    assert not allowed("GET", "/api/v1/scoring/admin/dead-letters", frozenset({SERVICE}))
    assert not allowed("GET", "/api/v1/nowhere", frozenset({ADMIN}))


def test_breaker_opens_after_threshold_then_lets_one_trial_through_and_closes_on_success():
    clock = FakeTime()
    breaker = CircuitBreaker(threshold=3, reset_seconds=5, now=clock)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state == "closed" and breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow()
    assert breaker.retry_after() == 5
    clock.t += 5
    assert breaker.allow() and not breaker.allow()  # one trial at a time in half-open
    breaker.record_failure()
    assert breaker.state == "open"
    clock.t += 5
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()


def test_rate_limiter_refuses_past_the_burst_with_retry_after_and_refills_with_time():
    clock = FakeTime()
    limiter = RateLimiter(per_minute=60, burst=2, now=clock)
    limiter.check("user:a")
    limiter.check("user:a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.check("user:a")
    assert refused.value.headers["Retry-After"] == "1"
    limiter.check("user:b")  # per caller
    clock.t += 1.0
    limiter.check("user:a")


async def test_cache_never_stores_a_section_fetched_before_an_invalidation():
    clock = FakeTime()
    cache = SectionCache(ttl_seconds=30, now=clock)
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_fetch():
        started.set()
        await release.wait()
        return {"name": "old"}, True

    task = asyncio.create_task(_get_or_fetch(cache, ("a", "scoring"), "acc-1", slow_fetch))
    await started.wait()
    cache.invalidate("acc-1")  # the account changed while the fetch was in flight
    release.set()
    assert await task == {"name": "old"}
    assert cache.get(("a", "scoring"), "acc-1") is None

    async def fresh_fetch():
        return {"name": "new"}, True

    assert await _get_or_fetch(cache, ("a", "scoring"), "acc-1", fresh_fetch) == {"name": "new"}
    assert cache.get(("a", "scoring"), "acc-1") == {"name": "new"}
    cache.invalidate("acc-2")
    assert cache.get(("a", "scoring"), "acc-1") == {"name": "new"}  # other accounts keep their sections
    clock.t += 31
    assert cache.get(("a", "scoring"), "acc-1") is None  # TTL backstop


class ScriptedUsers(UserIndex):
    """A user index whose reads of the users table are scripted (and can be held in flight)."""

    def __init__(self, clock: FakeTime) -> None:
        super().__init__(db=None, ttl_seconds=1.0, now=clock)  # type: ignore[arg-type]
        self.table: dict[str, Standing] = {}
        self.reads = 0
        self.hold: asyncio.Event | None = None

    async def _read(self, user_id: str) -> Standing | None:
        self.reads += 1
        found = self.table.get(user_id)
        if self.hold is not None:
            await self.hold.wait()
        return found


async def test_user_standing_is_read_once_per_second_shared_by_concurrent_misses_and_forgotten_on_change():
    clock = FakeTime()
    users = ScriptedUsers(clock)
    users.table["am-li"] = Standing(active=True, roles=frozenset({"account_manager"}))
    results = await asyncio.gather(*(users.standing("am-li") for _ in range(20)))
    assert users.reads == 1 and set(results) == {users.table["am-li"]}
    users.table["am-li"] = Standing(active=False, roles=frozenset({"account_manager"}))
    assert (await users.standing("am-li")).active is True  # within the bound: from memory
    clock.t += 1.01
    assert (await users.standing("am-li")).active is False  # past it: read again (another replica's change)
    users.table["am-li"] = Standing(active=True, roles=frozenset({"viewer"}))
    users.forget("am-li")  # a change committed in this process: the very next request reads it
    assert (await users.standing("am-li")).roles == {"viewer"}
    assert await users.standing("nobody") is None and users.reads == 4
    assert await users.standing("nobody") is None and users.reads == 4  # unknown users are remembered too


async def test_a_standing_read_before_a_change_is_never_kept():
    users = ScriptedUsers(FakeTime())
    users.table["am-li"] = Standing(active=True, roles=frozenset({"account_manager"}))
    users.hold = asyncio.Event()
    reading = asyncio.create_task(users.standing("am-li"))
    await asyncio.sleep(0)
    users.table["am-li"] = Standing(active=False, roles=frozenset({"account_manager"}))
    users.forget("am-li")  # the deactivation commits while the read is in flight
    users.hold.set()
    assert (await reading).active is True  # that request was already under way
    users.hold = None
    assert (await users.standing("am-li")).active is False and users.reads == 2


async def test_concurrent_misses_share_one_fetch_and_portfolio_follows_every_change():
    cache = SectionCache(ttl_seconds=30)
    calls = 0

    async def fetch():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"n": calls}, True

    results = await asyncio.gather(*(_get_or_fetch(cache, ("p",), PORTFOLIO, fetch) for _ in range(20)))
    assert calls == 1 and all(r == {"n": 1} for r in results)
    cache.invalidate("any-account")
    assert cache.get(("p",), PORTFOLIO) is None


def test_paths_route_to_their_service_and_unknown_ones_are_404():
    assert route_to_service("accounts/a-1/score") == ("scoring", "/accounts/a-1/score")
    assert route_to_service("complaints/complaints") == ("complaints", "/complaints/complaints")
    assert route_to_service("ops/risk/healthz") == ("risk", "/healthz")
    with pytest.raises(NotFound):
        route_to_service("ops/risk/secrets")
    with pytest.raises(NotFound):
        route_to_service("elsewhere/x")


def test_merge_prefixes_paths_and_namespaces_every_service_schema():
    gateway_doc = {"openapi": "3.1.0", "info": {"title": "g"}, "paths": {"/api/v1/me": {"get": {}}}}
    shared_schema = {"type": "object", "properties": {"detail": {"type": "string"}}}
    doc_a = {
        "paths": {
            "/scoring/x": {"get": {"operationId": "x", "responses": {"200": {"$ref": "#/components/schemas/Item"}}}},
            "/healthz": {"get": {"operationId": "h"}},
        },
        "components": {"schemas": {"Item": {"type": "string"}, "Problem": shared_schema}},
    }
    doc_b = {
        "paths": {"/risk/y": {"post": {"operationId": "y", "requestBody": {"$ref": "#/components/schemas/Item"}}}},
        "components": {"schemas": {"Item": {"type": "integer"}, "Problem": shared_schema}},
    }
    merged = merge_openapi(gateway_doc, {"scoring": doc_a, "risk": doc_b, "goals": None})
    assert set(merged["paths"]) == {"/api/v1/me", "/api/v1/scoring/x", "/api/v1/ops/scoring/healthz", "/api/v1/risk/y"}
    # Each service's schemas under its own name (two services' namesakes are different things).
    assert merged["components"]["schemas"]["scoring__Item"] == {"type": "string"}
    assert merged["components"]["schemas"]["risk__Item"] == {"type": "integer"}
    assert "Item" not in merged["components"]["schemas"]
    assert (
        merged["paths"]["/api/v1/scoring/x"]["get"]["responses"]["200"]["$ref"] == "#/components/schemas/scoring__Item"
    )
    assert merged["paths"]["/api/v1/risk/y"]["post"]["requestBody"]["$ref"] == "#/components/schemas/risk__Item"
    assert merged["paths"]["/api/v1/scoring/x"]["get"]["operationId"] == "scoring__x"
    assert "503" in merged["paths"]["/api/v1/scoring/x"]["get"]["responses"]
    assert merged["info"]["x-services-missing"] == ["goals"]
    assert public_path("risk", "/readyz") == "/api/v1/ops/risk/readyz"


async def test_hot_entry_is_refreshed_in_the_background_and_never_served_past_its_ttl():
    clock = FakeTime()
    cache = SectionCache(ttl_seconds=0.1, refresh_after_seconds=0.05, now=clock)
    version = 0

    async def fetch():
        nonlocal version
        version += 1
        return {"v": version}, True

    assert await _get_or_fetch(cache, ("s",), "acc", fetch) == {"v": 1}
    clock.t += 0.06  # past refresh_after: served, and a refresh starts
    assert await _get_or_fetch(cache, ("s",), "acc", fetch) == {"v": 1}
    await asyncio.gather(*cache.background)
    assert cache.get(("s",), "acc") == {"v": 2}
    clock.t += 0.11  # past the TTL with no reader in between: the next reader waits for fresh data
    assert cache.get(("s",), "acc") is None
    assert await _get_or_fetch(cache, ("s",), "acc", fetch) == {"v": 3}


class _OpenComplaints(ViewModel):
    """A section model with a required field (the shipped placeholders declare none yet)."""

    open_complaints: int


def test_a_section_that_does_not_match_its_model_is_unavailable_and_not_passed_through():
    invalid = read_section(_OpenComplaints, 200, b'{"open_complaints": "many"}')
    assert invalid.model_dump() == {"status": "unavailable", "data": None, "reason": "invalid section"}
    missing = read_section(_OpenComplaints, 200, b'{"closed": 3}')
    assert missing.model_dump() == {"status": "unavailable", "data": None, "reason": "invalid section"}
    valid = read_section(_OpenComplaints, 200, b'{"open_complaints": 3, "added_later": true}')
    assert valid.status == "ok" and valid.reason is None
    assert isinstance(valid.data, _OpenComplaints) and valid.data.open_complaints == 3
    for view in [*ACCOUNT_VIEWS.values(), *PORTFOLIO_VIEWS.values()]:
        not_an_object = read_section(view, 200, b'["not", "a", "section"]')
        assert (not_an_object.status, not_an_object.data, not_an_object.reason) == (
            "unavailable",
            None,
            "invalid section",
        )
        assert read_section(view, 200, b"{not json").reason == "invalid JSON"
        assert read_section(view, 404, b"{}").model_dump() == {
            "status": "not_found",
            "data": None,
            "reason": "not known to this service",
        }
        assert read_section(view, 503, b"{}").model_dump() == {
            "status": "unavailable",
            "data": None,
            "reason": "status 503",
        }


def test_an_invalid_section_shows_in_the_overview_as_unavailable_like_a_service_that_is_down():
    sections = {s: FetchedSection.of(read_section(ACCOUNT_VIEWS[s], 404, b"")) for s in SERVICE_NAMES}
    sections["risk"] = FetchedSection.of(read_section(ACCOUNT_VIEWS["risk"], 200, b"[1, 2, 3]"))
    account = AccountSummary(
        account_id="acc-1",
        name="华东精密制造有限公司",
        name_en=None,
        industry="制造业",
        region="华东",
        status="key_account",
        tier="key",
        owner_id="am-li",
        team_member_ids=["am-wu"],
    )
    document = overview_json("acc-1", account, sections)
    body = orjson.loads(document)
    assert body["sections"]["risk"] == {"status": "unavailable", "data": None, "reason": "invalid section"}
    assert body["sections"]["goals"] == {"status": "not_found", "data": None, "reason": "not known to this service"}
    assert body["unavailable"] == ["risk"]
    # Assembled from the sections' own JSON, it is exactly what the declared response model would serialise.
    typed = AccountOverview(
        account_id="acc-1",
        account=account,
        sections=AccountSections.model_validate({s: fetched.section for s, fetched in sections.items()}),
        unavailable=["risk"],
    )
    assert document == typed.model_dump_json(by_alias=True).encode()
    board_sections = {s: FetchedSection.of(read_section(PORTFOLIO_VIEWS[s], 503, b"")) for s in SERVICE_NAMES}
    board = PortfolioBoard(
        scope="own",
        sections=PortfolioSections.model_validate({s: fetched.section for s, fetched in board_sections.items()}),
        unavailable=list(SERVICE_NAMES),
    )
    assert board_json("own", board_sections) == board.model_dump_json(by_alias=True).encode()


def test_each_composed_document_has_one_section_per_service_typed_with_that_services_view_model():
    for sections, views in ((AccountSections, ACCOUNT_VIEWS), (PortfolioSections, PORTFOLIO_VIEWS)):
        assert tuple(sections.model_fields) == SERVICE_NAMES
        for service, field in sections.model_fields.items():
            assert field.annotation is Section[views[service]], service
    assert list(PortfolioBoard.model_fields) == ["scope", "sections", "unavailable"]
