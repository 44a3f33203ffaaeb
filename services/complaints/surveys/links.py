"""Survey links (pure): an unguessable single-use token, the SHA-256 kept of it, and what a link is at a moment."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from typing import Literal

# ``secrets.token_urlsafe(32)``: 32 random bytes, 43 URL-safe base64 characters.
TOKEN_BYTES = 32
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{43}$")

LinkState = Literal["open", "answered", "expired", "unknown"]


def new_token() -> str:
    """A fresh link token (256 bits from the OS's CSPRNG); it is shown once and never stored."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The SHA-256 (hex) kept of a token: a stolen database holds no working link."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def well_formed(token: str) -> bool:
    """Whether a token could have been made by ``new_token`` (anything else is unknown without a lookup)."""
    return bool(TOKEN_PATTERN.match(token))


def link_state(*, request_state: str | None, expires_at: datetime | None, now: datetime) -> LinkState:
    """What a link is at ``now``: open, already used (answered or withdrawn), expired, or unknown (no request)."""
    if request_state is None:
        return "unknown"
    if request_state != "pending":
        return "expired" if request_state == "expired" else "answered"
    if expires_at is None or now >= expires_at:
        return "expired"
    return "open"
