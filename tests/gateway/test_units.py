"""Pure parts of the gateway: the role matrix, the circuit breaker, rate limits, the view cache, OpenAPI merge."""

from __future__ import annotations

import asyncio

import pytest

from gateway.cache import PORTFOLIO, SectionCache
from gateway.edge import RateLimiter, TooManyRequests
from gateway.openapi import merge_openapi, public_path
from gateway.policy import MATRIX, PUBLIC, allowed, rule_for
from gateway.routes import route_to_service
from gateway.upstream import CircuitBreaker
from shared.auth import ACCOUNT_MANAGER, ADMIN, RISK_OFFICER, ROLES, SERVICE, SUPERVISOR, VIEWER
from shared.errors import NotFound


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


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

    task = asyncio.create_task(cache.get_or_fetch(("a", "scoring"), "acc-1", slow_fetch))
    await started.wait()
    cache.invalidate("acc-1")  # the account changed while the fetch was in flight
    release.set()
    assert await task == {"name": "old"}
    assert cache.get(("a", "scoring"), "acc-1") is None

    async def fresh_fetch():
        return {"name": "new"}, True

    assert await cache.get_or_fetch(("a", "scoring"), "acc-1", fresh_fetch) == {"name": "new"}
    assert cache.get(("a", "scoring"), "acc-1") == {"name": "new"}
    cache.invalidate("acc-2")
    assert cache.get(("a", "scoring"), "acc-1") == {"name": "new"}  # other accounts keep their sections
    clock.t += 31
    assert cache.get(("a", "scoring"), "acc-1") is None  # TTL backstop


async def test_concurrent_misses_share_one_fetch_and_portfolio_follows_every_change():
    cache = SectionCache(ttl_seconds=30)
    calls = 0

    async def fetch():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return {"n": calls}, True

    results = await asyncio.gather(*(cache.get_or_fetch(("p",), PORTFOLIO, fetch) for _ in range(20)))
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


def test_merge_prefixes_paths_keeps_identical_schemas_once_and_renames_clashing_ones():
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
    assert merged["components"]["schemas"]["Item"] == {"type": "string"}
    assert merged["components"]["schemas"]["risk__Item"] == {"type": "integer"}
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

    assert await cache.get_or_fetch(("s",), "acc", fetch) == {"v": 1}
    clock.t += 0.06  # past refresh_after: served, and a refresh starts
    assert await cache.get_or_fetch(("s",), "acc", fetch) == {"v": 1}
    await asyncio.gather(*cache.background)
    assert cache.get(("s",), "acc") == {"v": 2}
    clock.t += 0.11  # past the TTL with no reader in between: the next reader waits for fresh data
    assert cache.get(("s",), "acc") is None
    assert await cache.get_or_fetch(("s",), "acc", fetch) == {"v": 3}
