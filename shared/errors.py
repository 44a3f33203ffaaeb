"""Domain errors that carry their HTTP status, rendered as RFC 9457 problem+json."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5
log = logging.getLogger("kam.errors")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class DomainError(Exception):
    """Base of every expected error; services raise these, never HTTPException."""

    status: int = 400
    code: str = "bad-request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra


class NotFound(DomainError):
    status, code = 404, "not-found"


class ContentTooLarge(DomainError):
    """A request body over its size limit."""

    status, code = 413, "content-too-large"


class UnsupportedMediaType(DomainError):
    """A body in a media type the route does not take; the detail says what to send."""

    status, code = 415, "unsupported-media-type"


class Conflict(DomainError):
    status, code = 409, "conflict"


class InvalidTransition(Conflict):
    """A state change that the state machine does not allow; ``allowed`` lists the permitted targets."""

    code = "invalid-transition"

    def __init__(self, detail: str, *, current: str, allowed: Sequence[str]) -> None:
        super().__init__(detail, current=current, allowed=list(allowed))


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"

    def __init__(self, detail: str = "Authentication required") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class PreconditionFailed(DomainError):
    status, code = 412, "precondition-failed"


class PreconditionRequired(DomainError):
    """A change of a versioned resource sent without the precondition it needs; ``field`` names the header."""

    status, code = 428, "precondition-required"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field, errors=[{"field": field, "message": detail}])


class Unprocessable(DomainError):
    """Semantically invalid input; ``field`` names the offending field (dotted path)."""

    status, code = 422, "validation-error"

    def __init__(self, detail: str, *, field: str | None = None, **extra: Any) -> None:
        errors = extra.pop("errors", None)
        if errors is None and field is not None:
            errors = [{"field": field, "message": detail}]
        super().__init__(detail, field=field, errors=errors or [], **extra)


class ServiceUnavailable(DomainError):
    status, code = 503, "service-unavailable"


def problem(
    status: int,
    detail: str,
    *,
    code: str | None = None,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://kam.example/problems/{code or _TITLES.get(status, 'error').lower().replace(' ', '-')}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
        request_id = getattr(request.state, "request_id", None)
        if request_id:
            body["request_id"] = request_id
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _field_path(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] if len(parts) > 1 else parts
    return ".".join(parts)


def _validation_error(err: dict[str, Any]) -> dict[str, Any]:
    """One of FastAPI's validation errors as a problem's error entry. A body that is not JSON at all comes as
    ``loc = ("body", <character position>)``: it names the body and says where parsing stopped, not a field "0"."""
    if err.get("type") == "json_invalid":
        loc = err.get("loc", ())
        position = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
        reason = (err.get("ctx") or {}).get("error") or "invalid JSON"
        where = f" at character {position}" if position is not None else ""
        return {"field": "body", "message": f"the body is not valid JSON: {reason}{where}", "type": "json_invalid"}
    return {"field": _field_path(err.get("loc", ())), "message": err.get("msg", "invalid"), "type": err.get("type")}


# PostgreSQL SQLSTATEs of a database that cannot take writes now: a read-only transaction (25006, e.g.
# ``default_transaction_read_only``), an administrator's shutdown or termination of the connection (57P01-57P03).
_UNAVAILABLE_SQLSTATES = frozenset({"25006", "57P01", "57P02", "57P03"})


def database_unavailable(exc: DBAPIError) -> bool:
    """Whether a driver error means "the database cannot take this now" (503, retry) rather than a bug (500):
    SQLAlchemy's OperationalError, a lost connection, or one of the PostgreSQL states above (asyncpg's errors reach
    SQLAlchemy as the generic DBAPIError, so they are told apart by SQLSTATE; class 08 is a connection failure)."""
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        return True
    state = getattr(exc.orig, "sqlstate", None)
    return isinstance(state, str) and (state in _UNAVAILABLE_SQLSTATES or state.startswith("08"))


def install_error_handlers(app: FastAPI) -> None:
    """Render every error (domain, validation, HTTP, unexpected) as problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(exc.status, exc.detail, code=exc.code, request=request, headers=exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_validation_error(err) for err in exc.errors()]
        # Each field named once, with what is wrong with it ("Invalid input in amount: …; currency: …").
        said: dict[str, list[str]] = {}
        for e in errors:
            said.setdefault(e["field"], []).append(e["message"])
        detail = "Invalid input in " + "; ".join(f"{field}: {', '.join(messages)}" for field, messages in said.items())
        return problem(422, detail, code="validation-error", request=request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(exc.headers or {})
        allow = headers.get("Allow") if exc.status_code == 405 else None
        allowed = sorted(m.strip() for m in allow.split(",")) if allow else None
        return problem(exc.status_code, detail, request=request, headers=headers, allowed=allowed)

    @app.exception_handler(DBAPIError)
    async def _database_unavailable(request: Request, exc: DBAPIError) -> JSONResponse:
        # The database cannot take the request (read-only, disk full, locked past its budget, unreachable): the
        # transaction was rolled back, nothing was stored, and the client may retry. Not a 500.
        if not database_unavailable(exc):
            return await _unexpected(request, exc)
        log.warning("database unavailable", extra={"path": request.url.path, "error": str(exc.orig)[:200]})
        return problem(
            503,
            "The database cannot take this request right now; nothing was stored. Retry later.",
            code="database-unavailable",
            request=request,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem(500, "An unexpected error occurred; it has been logged.", request=request)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": _TITLES[status],
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": "string"},
                        "errors": {"type": "array", "items": {"type": "object"}},
                    },
                }
            }
        },
    }
    for status in (401, 403, 404, 409, 422)
}
