"""Demo portfolio, loaded through the HTTP APIs on the first ``kam up``.

Each service contributes a module with ``async def load(ctx: DemoContext) -> dict``; they run in order
(scoring first: it registers the accounts the others refer to).
"""

from __future__ import annotations

import importlib
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


@dataclass
class DemoContext:
    """HTTP clients per service plus what earlier loaders produced (e.g. account ids)."""

    clients: dict[str, httpx.AsyncClient]
    shared: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> httpx.AsyncClient:
        """The client of one service."""
        return self.clients[service]


async def load_demo(urls: dict[str, str]) -> dict[str, Any]:
    """Run every available loader against the running apps."""
    settings = APPS["gateway"].settings()
    token = mint_token(
        secret=settings.jwt_secret,
        user_id="demo-loader",
        roles=[ADMIN],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        name="demo loader",
        kind="service",
    )
    headers = {"Authorization": f"Bearer {token}"}
    clients = {name: httpx.AsyncClient(base_url=url, headers=headers, timeout=60) for name, url in urls.items()}
    ctx = DemoContext(clients=clients)
    summary: dict[str, Any] = {}
    try:
        for module_name in LOADERS:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            summary[module_name.rsplit(".", 1)[1]] = await module.load(ctx)
    finally:
        for client in clients.values():
            await client.aclose()
    return summary
