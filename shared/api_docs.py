"""Swagger UI (``/docs``) and ReDoc (``/redoc``) from assets shipped in ``shared/static/docs`` — no CDN — under a
content security policy that allows this origin only."""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

STATIC_DIR = Path(__file__).parent / "static" / "docs"
ASSETS_PATH = "/docs/assets"
VENDORED_VERSIONS = {"swagger-ui-dist": "5.35.0", "redoc": "2.5.4"}  # static/docs/VENDORED.md

# Scripts, styles, fonts and calls from this origin only. Both UIs set inline style attributes and use data: icons;
# ReDoc runs its search index in a worker made from a blob: URL. No page may frame the docs.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
DOCS_HEADERS = {"Content-Security-Policy": DOCS_CSP}

_SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — Swagger UI</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}" data-oauth2-redirect-url="{assets}/oauth2-redirect.html"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/swagger-init.js"></script>
</body>
</html>
"""

_REDOC_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} — ReDoc</title>
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{assets}/redoc.standalone.js"></script>
</body>
</html>
"""


class DocsAssets(StaticFiles):
    """The vendored files: cacheable for a day (they are public and change only with a release)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def cacheable(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"public, max-age=86400"))
                message["headers"] = headers
            await send(message)

        await super().__call__(scope, receive, cacheable)


def install_api_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` for ``app``'s OpenAPI document (build the app with ``docs_url=None`` and
    ``redoc_url=None``) and the assets under ``/docs/assets``."""
    app.mount(ASSETS_PATH, DocsAssets(directory=STATIC_DIR), name="docs-assets")
    values = {
        "title": html.escape(app.title),
        "assets": ASSETS_PATH,
        "openapi_url": html.escape(app.openapi_url or "/openapi.json"),
    }
    swagger, redoc = _SWAGGER_PAGE.format(**values), _REDOC_PAGE.format(**values)

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger, headers=DOCS_HEADERS)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_ui() -> HTMLResponse:
        return HTMLResponse(redoc, headers=DOCS_HEADERS)
