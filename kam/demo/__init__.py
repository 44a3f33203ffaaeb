"""Demo portfolio, loaded through the gateway's public API (``/api/v1``) on the first ``kam up``.

The demo users are created first (through the gateway's user administration) and the loader waits until every
service has heard of them (``identity.user_registered``, seen in ``GET /<svc>/admin/users``); then each service's
module ``async def load(ctx: DemoContext) -> dict`` runs in order (scoring first: it registers the accounts the
others refer to), with ``ctx.client(<service>)`` pointing at the gateway.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from kam.registry import APPS
from shared.auth import ADMIN, mint_token

# The demo people. Owners of demo accounts are the two account managers; the gateway creates these
# users (password: the ``password`` below, development only) and prints them on ``make run``.
DEMO_USERS: tuple[dict[str, Any], ...] = (
    {"user_id": "admin", "name": "系统管理员 Admin", "roles": ["admin"], "password": "admin-demo-2026"},
    {
        "user_id": "sup-wang",
        "name": "王主管 Wang (KA supervisor)",
        "roles": ["supervisor"],
        "password": "wang-demo-2026",
    },
    {
        "user_id": "am-li",
        "name": "李经理 Li (account manager)",
        "roles": ["account_manager"],
        "password": "li-demo-2026",
    },
    {
        "user_id": "am-zhang",
        "name": "张经理 Zhang (account manager)",
        "roles": ["account_manager"],
        "password": "zhang-demo-2026",
    },
    {
        "user_id": "risk-chen",
        "name": "陈风控 Chen (risk officer)",
        "roles": ["risk_officer"],
        "password": "chen-demo-2026",
    },
    {"user_id": "viewer-zhao", "name": "赵观察 Zhao (viewer)", "roles": ["viewer"], "password": "zhao-demo-2026"},
)

LOADERS = ("kam.demo.scoring", "kam.demo.goals", "kam.demo.risk", "kam.demo.complaints")
SERVICES = ("scoring", "complaints", "risk", "goals")


def if_match(resource: dict[str, Any]) -> dict[str, str]:
    """``If-Match`` with the version of a resource as the API last answered it (every change of one needs it)."""
    return {"If-Match": f'"{resource["version"]}"'}


@dataclass
class DemoContext:
    """HTTP clients per service plus what earlier loaders produced (e.g. account ids)."""

    clients: dict[str, httpx.AsyncClient]
    shared: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        """The client of one service (all of them point at the gateway's /api/v1)."""
        return self.clients[service]


class _PatientTransport(httpx.AsyncBaseTransport):
    """Waits out the gateway's rate limit (429 + Retry-After) and a service's busy database (503
    ``database-unavailable`` + Retry-After: nothing was stored, so sending it again is safe) instead of failing the
    demo — on a loaded machine a SQLite writer can wait past its lock budget while the demo writes."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(20):
            response = await self.inner.handle_async_request(request)
            if response.status_code not in (429, 503):
                return response
            await response.aread()
            if response.status_code == 503 and "/database-unavailable" not in response.text:
                return response  # another 503 (a service away): the demo reports it
            await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def _token(user_id: str, roles: list[str], *, name: str = "", kind: str = "user") -> str:
    settings = APPS["gateway"].settings()
    return mint_token(
        secret=settings.jwt_secret,
        user_id=user_id,
        roles=roles,
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        name=name,
        kind=kind,
    )


async def create_demo_users(api: httpx.AsyncClient) -> int:
    """Create ``DEMO_USERS`` through the gateway's user administration (existing ones are kept)."""
    created = 0
    for user in DEMO_USERS:
        response = await api.post("/users", json=user)
        if response.status_code == 201:
            created += 1
        elif response.status_code != 409:
            raise RuntimeError(f"creating demo user {user['user_id']}: {response.status_code} {response.text}")
    return created


async def wait_until_every_service_knows(
    api: httpx.AsyncClient, user_ids: list[str], *, timeout: float = 60.0, interval: float = 0.2
) -> None:
    """Wait (bounded) until every service's users projection lists ``user_ids`` — the demo names them as owners,
    assignees and approvers, which each service checks against what it knows (``GET /<svc>/admin/users``)."""
    deadline = time.monotonic() + timeout
    waiting: dict[str, set[str]] = {service: set(user_ids) for service in SERVICES}
    while True:
        for service in list(waiting):
            response = await api.get(
                f"/{service}/admin/users", params={"user_id": sorted(waiting[service]), "limit": 500}
            )
            if response.status_code == 200:
                waiting[service] -= {item["user_id"] for item in response.json()["items"]}
            if not waiting[service]:
                del waiting[service]
        if not waiting:
            return
        if time.monotonic() > deadline:
            missing = "; ".join(f"{svc}: {', '.join(sorted(ids))}" for svc, ids in sorted(waiting.items()))
            raise RuntimeError(f"the services did not hear of the demo users within {timeout:.0f}s ({missing})")
        await asyncio.sleep(interval)


async def load_demo(urls: dict[str, str]) -> dict[str, Any]:
    """Create the demo users, then run every available loader through the gateway's public API."""
    headers = {"Authorization": f"Bearer {_token('demo-loader', [ADMIN], name='demo loader', kind='service')}"}
    api_url = urls["gateway"].rstrip("/") + "/api/v1"
    transport = _PatientTransport()
    api = httpx.AsyncClient(base_url=api_url, headers=headers, timeout=60, transport=transport)
    ctx = DemoContext(clients=dict.fromkeys(SERVICES, api))
    ctx.shared["token_for"] = lambda user_id, roles: _token(user_id, roles)
    summary: dict[str, Any] = {}
    try:
        summary["users"] = await create_demo_users(api)
        await wait_until_every_service_knows(api, [str(user["user_id"]) for user in DEMO_USERS])
        for module_name in LOADERS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            summary[module_name.rsplit(".", 1)[1]] = await module.load(ctx)
    finally:
        await api.aclose()
    return summary
