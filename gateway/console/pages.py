"""Rendering the console: one Jinja2 environment, the helpers every template sees, and the headers every page
carries (CSP with scripts from this origin only, no framing, no caching of personal pages)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from gateway.console import formatting
from gateway.console.i18n import LANG_COOKIE, LANGS, Lang, choose_language, label, translate
from gateway.console.session import csrf_token, is_secure, jar_of
from gateway.runtime import runtime_of

HERE = Path(__file__).parent
CONSOLE = "/console"
STATIC_PREFIX = CONSOLE + "/static"
ENV = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    auto_reload=False,  # the templates ship with the package: no stat() of every template on every render
    trim_blocks=True,
    lstrip_blocks=True,
)
# Scripts and styles come from this origin only; ECharts sets element styles through the CSSOM (allowed), and the
# only inline element styles are the computed widths of progress bars.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def language_of(request: Request) -> Lang:
    """The request's language; ``?lang=`` is remembered in a cookie."""
    query = request.query_params.get("lang")
    lang = choose_language(query, request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    if query in LANGS and request.cookies.get(LANG_COOKIE) != query:
        jar_of(request).pending[LANG_COOKIE] = (lang, 365 * 24 * 3600)
    return lang


def helpers(request: Request, lang: Lang) -> dict[str, Any]:
    """What every template may call, bound to the request's language and the company's zone."""
    zone = runtime_of(request).settings.zone
    return template_helpers(lang, zone, csrf=csrf_token(request), path=request.url.path)


def template_helpers(lang: Lang, zone: ZoneInfo, *, csrf: str, path: str) -> dict[str, Any]:
    """The template helpers for a language and zone (pure: the tests render fragments with them)."""
    return {
        "lang": lang,
        "other_lang": "en" if lang == "zh" else "zh",
        "t": lambda key: translate(key, lang),
        "label": lambda group, value: label(group, value, lang),
        "num": lambda value, places=None: formatting.format_number(value, lang, places),
        "compact": lambda value: formatting.compact_number(value, lang),
        "money": lambda amount, currency, compact=False: formatting.format_money(
            amount, currency, lang, compact=compact
        ),
        "pct": lambda value, places=1: formatting.format_percent(value, lang, places),
        "day": lambda value: formatting.format_date(value, lang, zone),
        "when": lambda value: formatting.format_datetime(value, lang, zone),
        "static": STATIC_PREFIX,
        "base": CONSOLE,
        "path": path,
        "csrf": csrf,
    }


def render(request: Request, template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """A page or fragment in the request's language, with the security headers and pending cookies."""
    lang = language_of(request)
    started = time.perf_counter()
    body = ENV.get_template(template).render(**helpers(request, lang), **context)
    rendered_ms = (time.perf_counter() - started) * 1000
    headers = {**SECURITY_HEADERS, "Server-Timing": f"render;dur={rendered_ms:.1f}"}
    response = HTMLResponse(body, status_code=status, headers=headers)
    jar_of(request).apply(response, secure=is_secure(request))
    return response


def redirect(request: Request, location: str) -> Response:
    """Go to ``location`` (for htmx: a client-side redirect, not a swapped page)."""
    response: Response
    if request.headers.get("hx-request"):
        response = Response(status_code=204, headers={"HX-Redirect": location, **SECURITY_HEADERS})
    else:
        response = RedirectResponse(location, status_code=303, headers=SECURITY_HEADERS)
    jar_of(request).apply(response, secure=is_secure(request))
    return response
