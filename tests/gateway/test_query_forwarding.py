"""The gateway forwards a list's query string intact: repeated filters (``tier=strategic&tier=key``) and escaped
characters (``q=50%25``) reach the service as the client sent them."""

from __future__ import annotations

import httpx

from gateway.upstream import CircuitBreaker, Upstream


async def test_repeated_and_escaped_query_parameters_reach_the_service_intact() -> None:
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"items": []})

    upstream = Upstream(
        "scoring",
        "http://scoring.test",
        timeout=5,
        retries=0,
        breaker=CircuitBreaker(threshold=3, reset_seconds=5),
        transport=httpx.MockTransport(answer),
    )
    try:
        query = "tier=strategic&tier=key&q=50%25&q2=a_b&sort=-purchases"
        response = await upstream.request("GET", "/accounts", params=query)
    finally:
        await upstream.client.aclose()
    assert response.status_code == 200
    (url,) = seen
    assert url.path == "/accounts" and url.query == query.encode()
    assert url.params.get_list("tier") == ["strategic", "key"] and url.params["q"] == "50%"
