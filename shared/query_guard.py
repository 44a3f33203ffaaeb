"""Unknown query parameters are refused: a request whose query string names a parameter its route does not declare
(in its signature or in any dependency, at any depth) is a 422 naming it — a misspelt filter is never silently
ignored. One app-wide dependency, installed by ``build_service_app`` for every service and the gateway.

Routes outside the API document are exempt: the gateway's proxy (the service it forwards to checks the query, which
is passed on intact) and the HTML pages (console, survey), which are navigated to by browsers. A list route (one
taking ``limit`` and ``offset``) also takes ``format`` (``json``, ``csv``, ``xlsx``: shared.export)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.errors import Unprocessable

EXPORT_PARAM = "format"
EXPORT_FORMATS = ("json", "csv", "xlsx")
PAGE_PARAMS = frozenset({"limit", "offset"})
_NAMES = "_kam_query_names"


def _walk(dependant: Any, names: set[str]) -> None:
    for param in dependant.query_params:
        model = getattr(param, "type_", None) or param.field_info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):  # a query-parameter model: its fields
            names.update(field.alias or name for name, field in model.model_fields.items())
        else:
            names.add(param.alias)
    for sub in dependant.dependencies:
        _walk(sub, names)


def declared_query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route reads: its own and every dependency's, at any depth (computed once)."""
    cached: frozenset[str] | None = route.__dict__.get(_NAMES)
    if cached is None:
        names: set[str] = set()
        _walk(route.dependant, names)
        cached = frozenset(names)
        setattr(route, _NAMES, cached)
    return cached


def is_list_route(route: APIRoute) -> bool:
    """Whether a route answers a page of a list (it takes ``limit`` and ``offset``): it exports too."""
    return PAGE_PARAMS <= declared_query_names(route)


def accepted_query_names(route: APIRoute) -> frozenset[str]:
    """What a route accepts in its query string: what it declares, and ``format`` on a list route."""
    names = declared_query_names(route)
    return names | {EXPORT_PARAM} if PAGE_PARAMS <= names else names


def guarded(route: Any) -> bool:
    """Whether the guard checks a route: every documented API route (not the proxy, not the HTML pages)."""
    return isinstance(route, APIRoute) and bool(route.include_in_schema)


async def refuse_unknown_query(request: Request) -> None:
    """422 naming every query parameter the matched route does not read, and a ``format`` it cannot answer in."""
    if not request.scope.get("query_string"):
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not guarded(route):
        return
    accepted = accepted_query_names(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in accepted]
    if unknown:
        detail = f"Unknown query parameter(s): {', '.join(unknown)}; this route reads: " + (
            ", ".join(sorted(accepted)) or "none"
        )
        errors = [
            {"field": name, "location": "query", "message": "unknown query parameter", "type": "extra_forbidden"}
            for name in unknown
        ]
        raise Unprocessable(detail, field=unknown[0], errors=errors)
    if EXPORT_PARAM in request.query_params and EXPORT_PARAM not in declared_query_names(route):
        wrong = [v for v in request.query_params.getlist(EXPORT_PARAM) if v not in EXPORT_FORMATS]
        if wrong:
            detail = f"format: {wrong[0]!r} is not one of {', '.join(EXPORT_FORMATS)}"
            errors = [{"field": EXPORT_PARAM, "location": "query", "message": detail, "type": "enum"}]
            raise Unprocessable(detail, field=EXPORT_PARAM, errors=errors)


# The app-wide dependency (FastAPI(dependencies=[QUERY_GUARD])): it runs before the route's own dependencies.
QUERY_GUARD = Depends(refuse_unknown_query)
