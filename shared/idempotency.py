"""``Idempotency-Key`` on every POST, in one place: a pure ASGI middleware installed by the service factory.

A POST carrying the header, from a caller with a valid credential, is fingerprinted (method, path, query, media
type and body: JSON canonicalised, a multipart body without its boundary string) and claims its key in the
service's ``idempotency_keys`` table in a short transaction of its own (``status`` 0: in progress). Then:

- the same key and fingerprint, finished: the stored response is answered again (status, body, content type,
  ``Location``/``ETag``/``Content-Location``) with ``Idempotent-Replayed: true``; nothing runs;
- the same key and fingerprint, still in progress: 409 + ``Retry-After``;
- the same key with another request: 422 naming ``Idempotency-Key``.

The first request runs; a 2xx answer is stored on its row, anything else (4xx, 5xx, an exception) deletes the
claim so that the client can correct the request and send it again with the same key. Either is done before the
answer's last body part is sent: a client holding the whole answer that sends it again is replayed (or runs
afresh), never told "in progress".

Kept answers are sealed (``seal``, AES-256-GCM): they may hold what is shown once (API key and webhook secrets,
survey links).

The crash window, honestly: the route's transaction commits before its answer is stored in a second one. A process
that dies between the two (or is cancelled mid-request) leaves the claim in progress: its retries are answered 409
"in progress" until ``LEASE_SECONDS`` have passed and then 409 "outcome unknown" — the request is never run again,
so a booking is never made twice; the client checks the resource and uses a new key (or an operator deletes the row).

Keys are kept for ``retention`` (24 hours by default, as the large payment APIs do: ``idempotency_retention_hours``
in the settings) and then deleted by the hourly upkeep (``prune_keys``): after that a key may be used again.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import IO, Any
from urllib.parse import parse_qsl

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.api import idempotency_key
from shared.auth import TokenVerifier, bearer_token
from shared.db import Database
from shared.errors import (
    DATABASE_RETRY_AFTER_SECONDS,
    Conflict,
    DomainError,
    ServiceUnavailable,
    Unprocessable,
    database_unavailable,
    problem,
)

log = logging.getLogger("kam.idempotency")

IN_PROGRESS = 0  # the ``status`` of a claimed key whose request has not finished
# Longer than any request may run (the gateway's upload timeout is 600 s): an older claim in progress is taken for
# a request whose process died, and answered "outcome unknown" instead of "in progress".
LEASE_SECONDS = 900
RETRY_AFTER_SECONDS = 1
SPOOL_MEMORY_BYTES = 1 << 20  # a larger request body is spooled to a temporary file
CANONICAL_JSON_MAX_BYTES = 1 << 20  # a larger JSON body is fingerprinted as sent, not canonicalised
MAX_STORED_RESPONSE_BYTES = 4 << 20  # a larger 2xx answer is kept as "done" only: its key then answers 409
CHUNK_BYTES = 64 << 10
REPLAYED_HEADER = "Idempotent-Replayed"
REPLAYED_HEADERS = ("content-type", "location", "etag", "content-location")
ENVELOPE = "kam-idempotency"

PRINCIPAL_WIDTH = 100  # the ``principal`` column's width: a longer caller id is stored as its hash

CallerOf = Callable[[Request], Awaitable[str | None]]
PathFilter = Callable[[str], bool]


async def bearer_caller(request: Request) -> str | None:
    """The user id of the request's valid bearer token (``app.state.token_verifier``), else None."""
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(bearer_token(request)).user_id
    except DomainError:
        return None


class KeyInProgress(Conflict):
    """The first request with this key is still running."""

    code = "idempotency-key-in-progress"


class OutcomeUnknown(Conflict):
    """The first request with this key never stored its answer (its process died): it is not run again."""

    code = "outcome-unknown"


def every_path(path: str) -> bool:
    """Every POST honours ``Idempotency-Key`` (a service's default)."""
    return True


# ---------------------------------------------------------------- the request's fingerprint


def _media_type(content_type: str) -> tuple[str, dict[str, str]]:
    media, _, rest = content_type.partition(";")
    params = {}
    for part in rest.split(";"):
        name, _, value = part.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _chunks(spool: IO[bytes]) -> Any:
    spool.seek(0)
    while chunk := spool.read(CHUNK_BYTES):
        yield chunk


def _canonical_json(spool: IO[bytes]) -> bytes | None:
    spool.seek(0)
    try:
        value = json.loads(spool.read(), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        return None
    # Decimals keep their exact digits (1.10 and 1.1 are different requests; a float would blur 0.1 and 0.1000…01).
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=lambda d: {"$decimal": str(d)}
    ).encode()


def _without(spool: IO[bytes], needle: bytes, digest: Any) -> None:
    """Feed ``digest`` the spooled bytes with every occurrence of ``needle`` removed, a chunk at a time."""
    keep = len(needle) - 1  # an occurrence split over two chunks starts in the last len-1 bytes of what is held
    carry = b""
    for chunk in _chunks(spool):
        *complete, last = (carry + chunk).split(needle)
        for piece in complete:
            digest.update(piece)
        cut = max(len(last) - keep, 0)
        digest.update(last[:cut])
        carry = last[cut:]
    digest.update(carry)


def body_digest(spool: IO[bytes], size: int, content_type: str) -> str:
    """The body's SHA-256: JSON canonicalised (key order, spacing), multipart without its boundary string (a file
    sent again matches), anything else as sent."""
    media, params = _media_type(content_type)
    digest = hashlib.sha256()
    if (media == "application/json" or media.endswith("+json")) and size <= CANONICAL_JSON_MAX_BYTES:
        canonical = _canonical_json(spool)
        if canonical is not None:
            digest.update(canonical)
            return digest.hexdigest()
    boundary = params.get("boundary", "")
    if media.startswith("multipart/") and boundary:
        _without(spool, boundary.encode("latin-1"), digest)
    else:
        for chunk in _chunks(spool):
            digest.update(chunk)
    return digest.hexdigest()


def fingerprint(scope: Scope, body_sha256: str, content_type: str) -> str:
    """What makes two requests "the same": method, path, query (parameter order aside), media type and body."""
    query = sorted(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
    raw = json.dumps([scope["method"], scope["path"], query, _media_type(content_type)[0], body_sha256])
    return hashlib.sha256(raw.encode()).hexdigest()


# ---------------------------------------------------------------- stored answers


@dataclass
class _Captured:
    """The app's answer as it was sent."""

    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)
    too_large: bool = False

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    def envelope(self) -> bytes:
        """The answer as JSON: status, the headers replayed, and the body."""
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1")
            for name, value in self.headers
            if name.decode("latin-1").lower() in REPLAYED_HEADERS
        }
        stored: dict[str, Any] = {ENVELOPE: 1, "status": self.status, "headers": headers}
        if self.too_large:
            return json.dumps({**stored, "too_large": True}).encode()
        try:
            stored["body"] = bytes(self.body).decode()
        except UnicodeDecodeError:
            stored["body_base64"] = base64.b64encode(bytes(self.body)).decode()
        return json.dumps(stored, ensure_ascii=False).encode()


# A stored answer may hold what is shown once (an API key's secret, a webhook's signing secret, a survey link) and
# personal data, so the ``body`` column keeps it sealed with AES-256-GCM (the ``cryptography`` package) under a key
# derived (HKDF-SHA256) from the service's JWT secret, the caller and the key bound in as associated data — the
# database alone does not reveal it, and a row moved to another key or caller does not open.
SEALED = "sealed:v2:"
NONCE_BYTES = 12


def _cipher(secret: str) -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"kam-idempotency-answers").derive(secret.encode())
    return AESGCM(key)


def _associated(key: str, principal: str) -> bytes:
    return f"{principal}\x00{key}".encode()


def seal(secret: str, key: str, principal: str, plain: bytes) -> str:
    """``plain`` sealed for the ``body`` column of this key and caller."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = _cipher(secret).encrypt(nonce, plain, _associated(key, principal))
    return SEALED + base64.b64encode(nonce + sealed).decode()


def unseal(secret: str, key: str, principal: str, text: str) -> bytes | None:
    """What ``seal`` sealed, or None when it cannot be opened (another secret, a changed or moved row)."""
    if not text.startswith(SEALED):
        return None
    try:
        raw = base64.b64decode(text.removeprefix(SEALED), validate=True)
        return _cipher(secret).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(key, principal))
    except (ValueError, InvalidTag):
        return None


class AnswerUnreadable(Conflict):
    """A finished request whose answer cannot be given again (too large to keep, or the service's secret changed
    since it was sealed): it is not run again."""

    code = "outcome-unknown"


def _stored(row: dict[str, Any], secret: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of a stored answer."""
    plain = unseal(secret, str(row["key"]), str(row["principal"]), str(row["body"]))
    if plain is None:
        raise AnswerUnreadable(
            "The request sent with this Idempotency-Key was done, but its stored answer can no longer be read; it is "
            "not run again: check the resource, or use a new key",
            field="Idempotency-Key",
        )
    stored = json.loads(plain)
    if stored.get("too_large"):
        raise AnswerUnreadable(
            f"The request sent with this Idempotency-Key was done (status {stored['status']}), but its answer was too "
            "large to keep; it is not run again: read the resource instead",
            field="Idempotency-Key",
        )
    if "body_base64" in stored:
        body = base64.b64decode(stored["body_base64"])
    else:
        body = str(stored.get("body", "")).encode()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.get("headers", {}).items()]
    return int(stored["status"]), headers, body


async def prune_keys(db: Database, table: Table, *, now: datetime, retention: timedelta) -> int:
    """Delete the keys claimed longer ago than ``retention`` (finished or not); how many went."""
    async with db.transaction() as session:
        result = await session.execute(delete(table).where(table.c.created_at < now - retention))
    return int(getattr(result, "rowcount", 0) or 0)


class IdempotencyMiddleware:
    """Pure ASGI: ``Idempotency-Key`` on every POST whose path ``applies`` (module docstring)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        table: Table,
        secret: str,
        applies: PathFilter = every_path,
        caller: CallerOf = bearer_caller,
        lease_seconds: float = LEASE_SECONDS,
    ) -> None:
        self.app = app
        self.table = table
        self.secret = secret
        self.applies = applies
        self.caller = caller
        self.lease = timedelta(seconds=lease_seconds)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not self.applies(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.headers.get("idempotency-key") in (None, "") or (principal := await self.caller(request)) is None:
            await self.app(scope, receive, send)  # no key, or no valid credential: the route decides (401)
            return
        try:
            key = idempotency_key(request)
        except DomainError as exc:
            await self._problem(scope, receive, send, exc)
            return
        assert key is not None
        if len(principal) > PRINCIPAL_WIDTH:
            principal = "sha256:" + hashlib.sha256(principal.encode()).hexdigest()
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_BYTES) as spool:
            size = await _spool(receive, spool)
            if size is None:
                return  # the client left before sending its body: nothing to do
            content_type = request.headers.get("content-type", "")
            request_hash = fingerprint(scope, body_digest(spool, size, content_type), content_type)
            try:
                claimed = await self._claim_or_replay(scope, send, key=key, principal=principal, hash_=request_hash)
            except DBAPIError as exc:
                if not database_unavailable(exc):
                    raise
                await self._problem(scope, receive, send, _database_unavailable())
                return
            except DomainError as exc:
                await self._problem(scope, receive, send, exc)
                return
            if claimed:
                await self._run(scope, _replaying(spool, size, receive), send, key, principal, request_hash)

    async def _claim_or_replay(self, scope: Scope, send: Send, *, key: str, principal: str, hash_: str) -> bool:
        """True when this request holds the key now; False when a stored answer was sent; raises 409/422."""
        db: Database = scope["app"].state.db
        table = self.table
        where = (table.c.key == key, table.c.principal == principal)
        for _ in range(3):  # a claim released between our insert and our read is claimed again
            try:
                async with db.transaction() as session:
                    await session.execute(
                        insert(table).values(
                            key=key,
                            principal=principal,
                            request_hash=hash_,
                            status=IN_PROGRESS,
                            body="",
                            created_at=datetime.now(UTC),
                        )
                    )
                return True
            except IntegrityError:
                pass
            async with db.transaction(write=False) as session:
                row = (await session.execute(select(table).where(*where))).mappings().first()
            if row is None:
                continue
            if row["request_hash"] != hash_:
                raise Unprocessable(
                    "Idempotency-Key was already used with a different request", field="Idempotency-Key"
                )
            if row["status"] == IN_PROGRESS:
                raise self._in_progress(row["created_at"])
            status, headers, body = _stored(dict(row), self.secret)
            headers += [(b"content-length", str(len(body)).encode()), (REPLAYED_HEADER.lower().encode(), b"true")]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return False
        raise self._in_progress(datetime.now(UTC))

    def _in_progress(self, claimed_at: datetime) -> KeyInProgress | OutcomeUnknown:
        if datetime.now(UTC) - claimed_at < self.lease:
            return KeyInProgress(
                "A request with this Idempotency-Key is in progress; retry after it finishes",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                retry_after=RETRY_AFTER_SECONDS,
                field="Idempotency-Key",
            )
        return OutcomeUnknown(
            "The request first sent with this Idempotency-Key never finished answering, so its outcome is unknown; "
            "it is not run again: check whether the resource exists, then use a new key",
            field="Idempotency-Key",
        )

    async def _run(self, scope: Scope, receive: Receive, send: Send, key: str, principal: str, hash_: str) -> None:
        captured = _Captured()
        settled = False

        async def settle() -> None:
            nonlocal settled
            if settled:
                return
            settled = True
            if captured.succeeded:
                await self._keep(scope, key, principal, captured)  # an answer too large is kept as "done" only
            else:
                await self._release(scope, key, principal, hash_)

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured.status = message["status"]
                captured.headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                if captured.succeeded and not captured.too_large:
                    captured.body += message.get("body", b"")
                    if len(captured.body) > MAX_STORED_RESPONSE_BYTES:
                        captured.too_large, captured.body = True, bytearray()
                if not message.get("more_body", False):
                    # The answer is kept (or the claim released) before its last part leaves: a client that has
                    # the whole answer and sends the request again is replayed, never told "in progress".
                    await settle()
            await send(message)

        try:
            await self.app(scope, receive, capture)
        except Exception:
            if not settled:
                settled = True
                await self._release(scope, key, principal, hash_)
            raise
        await settle()

    async def _keep(self, scope: Scope, key: str, principal: str, captured: _Captured) -> None:
        table = self.table
        try:
            async with scope["app"].state.db.transaction() as session:
                await session.execute(
                    update(table)
                    .where(table.c.key == key, table.c.principal == principal, table.c.status == IN_PROGRESS)
                    .values(status=captured.status, body=seal(self.secret, key, principal, captured.envelope()))
                )
        except Exception:  # answered already: the claim stays in progress (409, never run again)
            log.exception("could not keep the answer of an Idempotency-Key", extra={"path": scope["path"]})

    async def _release(self, scope: Scope, key: str, principal: str, hash_: str) -> None:
        table = self.table
        try:
            async with scope["app"].state.db.transaction() as session:
                await session.execute(
                    delete(table).where(
                        table.c.key == key,
                        table.c.principal == principal,
                        table.c.request_hash == hash_,
                        table.c.status == IN_PROGRESS,
                    )
                )
        except Exception:
            log.exception("could not release an Idempotency-Key", extra={"path": scope["path"]})

    @staticmethod
    async def _problem(scope: Scope, receive: Receive, send: Send, exc: DomainError) -> None:
        response = problem(
            exc.status, exc.detail, code=exc.code, request=Request(scope), headers=exc.headers, **exc.extra
        )
        await response(scope, receive, send)


class DatabaseUnavailable(ServiceUnavailable):
    """The key could not be claimed: the database refuses writes now (as shared.errors answers a route's)."""

    code = "database-unavailable"


def _database_unavailable() -> DatabaseUnavailable:
    return DatabaseUnavailable(
        "The database cannot take this request right now; nothing was stored. Retry later.",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _spool(receive: Receive, spool: IO[bytes]) -> int | None:
    """Read the whole request body into ``spool`` (memory, then a temporary file); None if the client left."""
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        spool.write(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return size


def _replaying(spool: IO[bytes], size: int, receive: Receive) -> Receive:
    """A ``receive`` giving the app the spooled body again, then the client's own messages (a disconnect)."""
    spool.seek(0)
    done = False

    async def replay() -> Message:
        nonlocal done
        if done:
            return await receive()
        chunk = spool.read(CHUNK_BYTES)
        done = spool.tell() >= size
        return {"type": "http.request", "body": chunk, "more_body": not done}

    return replay
