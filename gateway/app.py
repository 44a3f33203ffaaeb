"""The gateway app: ``create_app(settings)``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from gateway.config import GatewaySettings
from gateway.console.mount import install_console
from gateway.edge import BodyLimitMiddleware, PathGuardMiddleware
from gateway.models import audit_log, platform
from gateway.openapi import API_PREFIX
from gateway.routes import auth_router, proxy_router, router
from gateway.runtime import GatewayRuntime
from gateway.security import authenticate, authorize
from gateway.survey_pages import router as survey_pages_router
from gateway.users import publish_unpublished_users
from shared.audit import audit_router
from shared.clock import Clock
from shared.errors import DomainError
from shared.idempotency import IdempotencyMiddleware
from shared.projection import PROJECTION_HANDLERS
from shared.service import ServiceSpec, build_service_app


async def _publish_users_never_published(app: FastAPI) -> None:
    """Users that exist but were never announced (made before the gateway published users) are published once."""
    async with app.state.db.transaction() as session:
        count = await publish_unpublished_users(session, publisher=app.state.publisher)
    if count:
        logging.getLogger("kam.gateway").info("published %d users never published before", count)


# The gateway's audit log (users, roles, API keys): read by whom the route × role matrix admits (admins, auditors).
identity_audit_router = audit_router(audit_log, path=f"{API_PREFIX}/identity/audit", tag="identity", reader=authorize)


# Idempotency-Key at the gateway: its own POSTs (users, API keys and their rotation: ``router``; the operations
# routes every service has, /gateway/admin/…); a proxied POST is its service's to honour (the header is forwarded),
# and the authentication routes (no credential yet) create nothing of a caller's.
_OWN_POSTS = tuple(r.path_regex for r in router.routes if isinstance(r, APIRoute) and "POST" in (r.methods or ()))


def own_post(path: str) -> bool:
    """Whether a POST path is one of the gateway's own routes that honour ``Idempotency-Key`` (not the proxy's)."""
    return path.startswith("/gateway/admin/") or any(regex.match(path) for regex in _OWN_POSTS)


async def gateway_caller(request: Request) -> str | None:
    """The caller as the gateway knows them (a bearer token or an API key, gateway.security); None: no valid one."""
    try:
        return (await authenticate(request)).principal.user_id
    except DomainError:
        return None


SPEC = ServiceSpec(
    name="gateway",
    title="KA Platform API",
    description=(
        "The public API of the KA Platform (KA主管 key-account management): every service's routes under "
        "`/api/v1`, the composed account-360 and portfolio views, authentication (OAuth2 password flow with "
        "refresh tokens, or an `X-API-Key`) and administration of users and keys."
    ),
    tables=platform,
    migrations_dir=Path(__file__).parent / "migrations",
    # The customer survey page (/s/{token}) needs no login: its link's token is the secret (never under /api/v1).
    routers=[auth_router, router, identity_audit_router, survey_pages_router, proxy_router],  # the proxy last
    publishes=["identity"],  # the gateway owns users: identity.user_registered / user_updated / user_deactivated
    handlers=PROJECTION_HANDLERS,
    on_start=_publish_users_never_published,
    idempotent_paths=own_post,
    idempotency_caller=gateway_caller,
)


def create_app(settings: GatewaySettings | None = None, *, clock: Clock | None = None) -> FastAPI:
    """Build the gateway app (settings from the environment unless given)."""
    settings = settings or GatewaySettings()
    app = build_service_app(SPEC, settings, clock=clock)
    install_console(app)  # the web console at / (its own routes, never under /api/v1)
    # One line per upstream call would drown the access log (and log internal URLs); keep warnings only.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    base_lifespan = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with base_lifespan(app):
            runtime = GatewayRuntime(app, settings)
            app.state.runtime = runtime
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()

    app.router.lifespan_context = lifespan
    base_openapi = app.openapi

    def merged_openapi() -> dict[str, Any]:
        runtime: GatewayRuntime | None = getattr(app.state, "runtime", None)
        own = base_openapi()
        return runtime.openapi(own) if runtime is not None else own

    app.openapi = merged_openapi  # type: ignore[method-assign]
    # Inside the request-context middleware (added by build_service_app, outermost), so that what these answer on
    # their own — a preflight, a refused path, a body too large — carries the request id and security headers too.
    inner: list[Middleware] = []
    if settings.cors_origins:
        inner.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "Idempotency-Key",
                    "If-Match",
                    "If-None-Match",
                    "X-API-Key",
                    "X-Request-ID",
                ],
                expose_headers=["ETag", "Retry-After", "X-Request-ID", "Location", "Idempotent-Replayed"],
            )
        )
    inner.append(Middleware(PathGuardMiddleware))  # before routing: odd paths never reach a route or an upstream
    inner.append(
        Middleware(
            BodyLimitMiddleware,
            max_bytes=settings.max_body_bytes,
            upload_paths=settings.bulk_upload_paths,
            max_upload_bytes=settings.max_upload_bytes,
        )
    )
    # user_middleware[0] is the outermost; these go before the idempotency middleware (so a body too large is
    # refused before it is spooled).
    at = next(i for i, m in enumerate(app.user_middleware) if m.cls is IdempotencyMiddleware)  # type: ignore[comparison-overlap]
    app.user_middleware[at:at] = inner
    return app
