"""Putting the console into the gateway app: its routers, its static files and its two session answers."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from gateway.console import account_routes, imports_routes, link_routes, queue_routes, routes
from gateway.console.pages import CONSOLE, HERE, STATIC_PREFIX, redirect, render
from gateway.console.session import CsrfRefused, LoginRequired, forget_tokens


class ConsoleStatic(StaticFiles):
    """The console's scripts and styles: cacheable for an hour, then revalidated by ETag (the gateway's default
    ``no-store`` would make every page fetch the 1 MB chart library again)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file, with a cache lifetime."""
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = "public, max-age=3600"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


async def _login_required(request: Request, exc: Exception) -> Response:
    """No session: to the login form, coming back here afterwards (htmx: a client-side redirect)."""
    forget_tokens(request)
    back = request.url.path if request.method == "GET" else CONSOLE + "/"
    if request.url.query and request.method == "GET":
        back += "?" + request.url.query
    return redirect(request, f"{CONSOLE}/login?next={quote(back, safe='/')}")


async def _csrf_refused(request: Request, exc: Exception) -> Response:
    """A POST without the session's CSRF token: 403 with a page (or fragment) saying to reload."""
    fragment = bool(request.headers.get("hx-request"))
    return render(request, "_error.html" if fragment else "error.html", {"message_key": "error.csrf"}, status=403)


def install_console(app: FastAPI) -> None:
    """Add the console's routes (never under /api/v1), static files and session handlers to the gateway."""
    for router in (
        routes.router,
        link_routes.router,
        queue_routes.router,
        account_routes.router,
        imports_routes.router,
    ):
        app.include_router(router)
    app.mount(STATIC_PREFIX, ConsoleStatic(directory=HERE / "static"), name="console-static")
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
