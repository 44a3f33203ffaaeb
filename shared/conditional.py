"""Conditional reads (RFC 9110 §13.1.2): a GET or HEAD whose ``If-None-Match`` matches the ETag of its 200 answer is
answered ``304 Not Modified`` with that ETag and no body. Only answers that already carry an ETag qualify; the route
runs as usual (the saving is the body on the wire, and the client's re-parse)."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# An entity tag, weak or strong (``W/"3"``, ``"3"``), or ``*``; a list is comma-separated.
_ENTITY_TAG = re.compile(r'\*|(?:W/)?"[^"]*"')
# Headers of the 200 that a 304 does not repeat (RFC 9110 §15.4.5: it has no content).
_CONTENT_HEADERS = frozenset({b"content-length", b"content-type", b"content-encoding", b"transfer-encoding"})


def none_match(if_none_match: str, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` by weak comparison (``*`` matches any current representation)."""
    tags = _ENTITY_TAG.findall(if_none_match)
    if "*" in tags:
        return True
    opaque = etag.strip().removeprefix("W/")
    return any(tag.removeprefix("W/") == opaque for tag in tags)


class ConditionalGetMiddleware:
    """Answer 304 for a GET/HEAD 200 carrying an ETag that the request's ``If-None-Match`` matches."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        condition = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"if-none-match"), None)
        if condition is None:
            await self.app(scope, receive, send)
            return
        not_modified = False

        async def send_conditionally(message: Message) -> None:
            nonlocal not_modified
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                etag = next((v.decode("latin-1") for k, v in headers if k.lower() == b"etag"), None)
                if message["status"] == 200 and etag is not None and none_match(condition, etag):
                    not_modified = True
                    kept = [(k, v) for k, v in headers if k.lower() not in _CONTENT_HEADERS]
                    await send({"type": "http.response.start", "status": 304, "headers": kept})
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    return
            elif not_modified:
                return  # the 200's body is dropped
            await send(message)

        await self.app(scope, receive, send_conditionally)
