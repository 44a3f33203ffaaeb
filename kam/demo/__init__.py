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
