"""API key scopes: what part of the platform a key may read or write, and the scope each request needs.

A scope is ``<family>:read`` or ``<family>:write``; ``write`` includes ``read`` of the same family. The families are
the gateway's own (``identity``: users, API keys and the gateway's audit log; ``views``: the composed account 360
and portfolio; ``ops``: every service's health, metrics and admin routes) and one per proxied service. Scopes
narrow what a key's roles allow (the route × role matrix of ``gateway.policy`` still applies); a user's token has
no scopes. ``/api/v1/me`` needs none.
"""

from __future__ import annotations

from typing import Final

from gateway.config import KNOWN_SERVICES
from gateway.openapi import API_PREFIX

GATEWAY_FAMILIES: Final = ("identity", "views", "ops")
FAMILIES: Final[tuple[str, ...]] = (*GATEWAY_FAMILIES, *KNOWN_SERVICES)
ACCESS: Final = ("read", "write")
SCOPES: Final[tuple[str, ...]] = tuple(f"{family}:{access}" for family in FAMILIES for access in ACCESS)
READ_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
# Gateway paths (first segment below /api/v1) → their family; composed views are matched by shape below.
_GATEWAY_HEADS: Final = {"users": "identity", "api-keys": "identity", "identity": "identity", "ops": "ops"}


def family_of(path: str) -> str | None:
    """The family of a public path (None: needs no scope, e.g. ``/api/v1/me``)."""
    segments = path.removeprefix(API_PREFIX).strip("/").split("/")
    head = segments[0]
    if head == "me":
        return None
    if head == "portfolio" or (head == "accounts" and len(segments) == 3 and segments[2] == "overview"):
        return "views"
    if head == "accounts":
        return "scoring"  # the account registry is scoring's
    return _GATEWAY_HEADS.get(head, head)  # a service's name, or an unknown head no key can hold


def required_scope(method: str, path: str) -> str | None:
    """The scope a request needs: its family, read for GET/HEAD/OPTIONS and write for every other method."""
    family = family_of(path)
    if family is None:
        return None
    return f"{family}:{'read' if method.upper() in READ_METHODS else 'write'}"


def granted(needed: str, scopes: frozenset[str]) -> bool:
    """Whether ``scopes`` include ``needed`` (a family's write scope includes its read scope)."""
    family, _, access = needed.partition(":")
    return needed in scopes or (access == "read" and f"{family}:write" in scopes)
