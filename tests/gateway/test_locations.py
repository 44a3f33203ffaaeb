"""Location headers name public paths: a service's own path is answered below /api/v1, and following it works."""

from __future__ import annotations

import httpx
import pytest

from gateway.proxy import public_location
from tests.gateway.platform import Platform
from tests.support import auth

SUPERVISOR = auth("supervisor", user_id="sup-wang")


@pytest.mark.parametrize(
    ("upstream", "public"),
    [
        ("/accounts/1", "/api/v1/accounts/1"),
        ("/goals/imports/b-1", "/api/v1/goals/imports/b-1"),
        ("/api/v1/complaints/9", "/api/v1/complaints/9"),  # already public
        ("https://example.com/x", "https://example.com/x"),  # absolute: kept
        ("//evil.example/x", "//evil.example/x"),  # network-path reference: not made ours
    ],
)
def test_public_location(upstream: str, public: str) -> None:
    assert public_location(upstream) == public


async def test_a_create_through_the_gateway_answers_a_location_that_can_be_followed(
    api: httpx.AsyncClient, platform: Platform
) -> None:
    body = {"name": "杭州示例定位有限公司", "industry": "制造业", "region": "华东", "owner_id": "am-li"}
    created = await api.post("/accounts", json=body, headers=SUPERVISOR)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location == f"/api/v1/accounts/{created.json()['id']}"
    followed = await api.get(location.removeprefix("/api/v1"), headers=SUPERVISOR)
    assert followed.status_code == 200 and followed.json()["name"] == body["name"]
