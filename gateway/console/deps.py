"""Request dependencies of the console: the logged-in user, the console's client for them, the CSRF check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from gateway.console.client import Console
from gateway.console.session import CSRF_FIELD, check_csrf, current_caller
from gateway.deps import request_id_of
from gateway.runtime import runtime_of
from gateway.security import Caller


async def _console(request: Request, caller: Annotated[Caller, Depends(current_caller)]) -> Console:
    return Console(runtime_of(request), caller, request_id_of(request))


async def _csrf_checked(request: Request) -> None:
    """403 for a POST without the session's CSRF token (header for htmx, hidden field for plain forms)."""
    submitted: str | None = None
    if "x-csrf-token" not in request.headers:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    check_csrf(request, submitted)


ConsoleUser = Annotated[Console, Depends(_console)]
CsrfChecked = Annotated[None, Depends(_csrf_checked)]
ObjectId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
