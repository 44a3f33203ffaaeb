"""Idempotency-Key on every POST, one way (shared.idempotency): installed in every app and declared on every POST;
through the gateway a creating POST of each service (and the gateway's own) repeated with its key has one effect and
the same answer; 100 concurrent identical requests book once on SQLite and PostgreSQL; a failed first attempt leaves
the key free; a claim left by a dead process is never run again."""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import func, insert, select, text

from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from gateway.openapi import merge_openapi
from services.complaints.app import create_app as create_complaints
from services.complaints.config import ComplaintsSettings
from services.goals.app import create_app as create_goals
from services.goals.config import GoalsSettings
from services.notifications.app import create_app as create_notifications
from services.notifications.config import NotificationsSettings
from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from services.risk.credit.models import Invoice, Payment
from services.risk.models import idempotency_keys as risk_keys
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from shared.idempotency import IdempotencyMiddleware, body_digest, fingerprint
from shared.nats_server import free_port
from tests.gateway.platform import offline_gateway_settings, seed_users
from tests.risk.support import add_account, make_app, registered
from tests.support import auth, register_users, running, service_settings

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any]]] = {
    "scoring": (create_scoring, ScoringSettings),
    "complaints": (create_complaints, ComplaintsSettings),
    "risk": (create_risk, RiskSettings),
    "goals": (create_goals, GoalsSettings),
    "notifications": (create_notifications, NotificationsSettings),
}
# The gateway's POSTs that take no credential: they create nothing of a caller's, so a key is not theirs to honour.
UNAUTHENTICATED_POSTS = {"/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/auth/logout"}
ROOT = auth("admin", user_id="root")
USERS = {"root": ["admin"], "am-li": ["account_manager"]}


def _service_app(name: str, database_url: str) -> FastAPI:
    factory, settings = SERVICES[name]
    return factory(service_settings(settings, database_url=database_url, nats_url=None))


def _idempotency_middleware(app: FastAPI) -> list[Any]:
    return [m for m in app.user_middleware if m.cls is IdempotencyMiddleware]  # type: ignore[comparison-overlap]


def _posts(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {path: item["post"] for path, item in document["paths"].items() if "post" in item}


def _declares_the_key(operation: dict[str, Any]) -> bool:
    headers = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "header"}
    return "Idempotency-Key" in headers and {"409", "422"} <= set(operation["responses"])


def test_every_app_installs_the_middleware_and_every_post_declares_the_key():
    url = "sqlite+aiosqlite:///:memory:"
    docs = {}
    for name in SERVICES:
        app = _service_app(name, url)
        [installed] = _idempotency_middleware(app)
        assert installed.kwargs["table"].name == "idempotency_keys", name
        docs[name] = app.openapi()
        posts = _posts(docs[name])
        assert posts and all(_declares_the_key(op) for op in posts.values()), (name, sorted(posts))
    gateway = create_gateway(service_settings(GatewaySettings, database_url=url, nats_url=None))
    [installed] = _idempotency_middleware(gateway)
    applies = installed.kwargs["applies"]
    assert applies("/api/v1/users") and applies("/api/v1/api-keys")
    # A proxied POST is its service's to honour (it gets the header forwarded); the login is no one's.
    assert not applies("/api/v1/risk/accounts/a-1/invoices") and not applies("/api/v1/auth/token")
    merged = merge_openapi(gateway.openapi(), docs)
    posts = _posts(merged)
    assert len(posts) > 100
    assert {path for path, op in posts.items() if not _declares_the_key(op)} == UNAUTHENTICATED_POSTS


def test_the_fingerprint_canonicalises_json_and_ignores_a_multipart_boundary():
    def digest(body: bytes, content_type: str) -> str:
        return body_digest(io.BytesIO(body), len(body), content_type)

    assert digest(b'{"a": 1, "b": [1.10]}', "application/json") == digest(b'{"b":[1.10],"a":1}', "application/json")
    assert digest(b'{"a": 1.10}', "application/json") != digest(b'{"a": 1.1}', "application/json")
    content = b"x" * 200_000  # more than one chunk: a boundary may fall across two

    def multipart(boundary: str) -> bytes:
        part = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.csv"\r\n\r\n'.encode()
        return part + content + f"\r\n--{boundary}--\r\n".encode()

    first, again = uuid.uuid4().hex, uuid.uuid4().hex
    assert digest(multipart(first), f"multipart/form-data; boundary={first}") == digest(
        multipart(again), f"multipart/form-data; boundary={again}"
    )
    other = multipart(again).replace(b"xxxx", b"xxxy", 1)
    assert digest(other, f"multipart/form-data; boundary={again}") != digest(
        multipart(again), f"multipart/form-data; boundary={again}"
    )
    scope = {"method": "POST", "path": "/p", "query_string": b"b=2&a=1"}
    assert fingerprint(scope, "d", "application/json") == fingerprint(
        {**scope, "query_string": b"a=1&b=2"}, "d", "application/json; charset=utf-8"
    )
    assert fingerprint(scope, "d", "application/json") != fingerprint({**scope, "path": "/q"}, "d", "application/json")


# ---------------------------------------------------------------- through the gateway, every service


@contextlib.asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[None]:
    """An app under uvicorn on a real port (lifespan included)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not task.done(), "the service did not start"
            await asyncio.sleep(0.02)
        yield
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def _count(app: FastAPI, table: str) -> int:
    async with app.state.db.transaction(write=False) as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


@dataclass(frozen=True)
class Create:
    """A creating POST at the gateway, a different request for the same key, and the table of its effect."""

    label: str
    path: str
    body: dict[str, Any]
    other: dict[str, Any]
    app: str
    table: str


def _creates(account_id: str, invoice_id: str) -> list[Create]:
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    complaint = {
        "account_id": account_id,
        "title": "批次质量问题",
        "description": "第三季度交付的一批控制器出现故障。",
        "channel": "phone",
        "category": "product_quality",
        "severity": "high",
        "reporter_name": "刘工",
        "reporter_contact": "liu@example.cn",
    }
    sale = {"account_id": account_id, "date": yesterday, "product_line": "工业网关", "revenue": "1000", "cost": "0"}
    hook = {"name": "ERP", "url": "https://erp.example.cn/hooks", "kinds": ["complaints.sla_warning"]}
    visit = {"kind": "visit", "level": "execution", "occurred_on": yesterday}
    return [
        Create(
            "gateway user",
            "/users",
            {"user_id": "idem-user", "password": "platform-pw-2026", "roles": ["viewer"]},
            {"user_id": "idem-user", "password": "platform-pw-2026", "roles": ["supervisor"]},
            "gateway",
            "users",
        ),
        Create(
            "scoring engagement",
            f"/accounts/{account_id}/engagements",
            visit,
            {**visit, "kind": "call"},
            "scoring",
            "engagements",
        ),
        Create("complaint", "/complaints", complaint, {**complaint, "severity": "low"}, "complaints", "complaints"),
        Create(
            "risk payment",
            f"/risk/invoices/{invoice_id}/payments",
            {"amount": "100", "paid_on": yesterday},
            {"amount": "200", "paid_on": yesterday},
            "risk",
            "payments",
        ),
        Create(
            "goals sales line",
            "/goals/actuals",
            {"records": [sale]},
            {"records": [{**sale, "revenue": "2000"}]},
            "goals",
            "sales_records",
        ),
        Create(
            "webhook",
            "/notifications/admin/webhooks",
            hook,
            {**hook, "name": "CRM"},
            "notifications",
            "webhook_subscriptions",
        ),
    ]


async def _register_account(client: httpx.AsyncClient, apps: dict[str, FastAPI]) -> str:
    """An account registered at scoring through the gateway (with a key, answered again), known to the others."""
    body = {"name": "幂等精密制造", "industry": "制造业", "region": "华东", "owner_id": "am-li"}
    keyed = {**ROOT, "Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/api/v1/accounts", json=body, headers=keyed)
    again = await client.post("/api/v1/accounts", json=body, headers=keyed)
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"] and again.headers["etag"] == first.headers["etag"]
    assert await _count(apps["scoring"], "accounts") == 1
    account_id = str(first.json()["id"])
    for name, app in apps.items():
        if name not in ("scoring", "gateway"):
            await app.state.consumer.process(registered("幂等精密制造", account_id=account_id))
    return account_id


async def _invoice(client: httpx.AsyncClient, account_id: str) -> str:
    invoice = _invoice_body("INV-1")
    created = await client.post(f"/api/v1/risk/accounts/{account_id}/invoices", json=invoice, headers=ROOT)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def test_through_the_gateway_each_services_create_repeated_with_its_key_has_one_effect(tmp_path, sqlite_database):
    apps = {name: _service_app(name, await sqlite_database(name)) for name in SERVICES}
    ports = {name: free_port() for name in SERVICES}
    urls = {f"{name}_url": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    gateway = create_gateway(offline_gateway_settings(tmp_path, **urls))
    async with contextlib.AsyncExitStack() as stack:
        for name, app in apps.items():
            await stack.enter_async_context(serving(app, ports[name]))
        client = await stack.enter_async_context(running(gateway))
        await seed_users(gateway, USERS)
        for app in apps.values():
            await register_users(app, USERS.items())
        apps["gateway"] = gateway
        account_id = await _register_account(client, apps)
        invoice_id = await _invoice(client, account_id)
        for case in _creates(account_id, invoice_id):
            before = await _count(apps[case.app], case.table)
            keyed = {**ROOT, "Idempotency-Key": str(uuid.uuid4())}
            first = await client.post(f"/api/v1{case.path}", json=case.body, headers=keyed)
            again = await client.post(f"/api/v1{case.path}", json=case.body, headers=keyed)
            assert first.status_code in (200, 201), (case.label, first.text)
            assert "idempotent-replayed" not in first.headers, case.label
            assert (again.status_code, again.json()) == (first.status_code, first.json()), case.label
            assert again.headers["idempotent-replayed"] == "true", case.label
            other = await client.post(f"/api/v1{case.path}", json=case.other, headers=keyed)
            assert other.status_code == 422, (case.label, other.text)
            assert other.json()["errors"][0]["field"] == "Idempotency-Key", case.label
            assert await _count(apps[case.app], case.table) == before + 1, case.label


# ---------------------------------------------------------------- one service app, any backend


def _invoice_body(number: str) -> dict[str, str]:
    return {"number": number, "amount": "1000", "currency": "CNY", "issued_on": "2026-03-01", "due_on": "2026-04-01"}


RISK = auth("risk_officer", user_id="risk-chen")


async def _invoices(app: FastAPI) -> int:
    async with app.state.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Invoice)) or 0)


async def _payments(app: FastAPI) -> int:
    async with app.state.db.transaction(write=False) as session:
        return int(await session.scalar(select(func.count()).select_from(Payment)) or 0)


async def test_a_hundred_concurrent_identical_payments_are_booked_once(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "并发客户")
        invoice = await client.post(f"/risk/accounts/{account_id}/invoices", json=_invoice_body("INV-7"), headers=RISK)
        path = f"/risk/invoices/{invoice.json()['id']}/payments"
        payment = {"amount": "10", "paid_on": "2026-03-10"}  # nothing in it is unique: only the key stops a second
        headers = {**RISK, "Idempotency-Key": "one-booking"}
        answers = await asyncio.gather(*(client.post(path, json=payment, headers=headers) for _ in range(100)))
        assert await _payments(app) == 1
        created = [a for a in answers if a.status_code == 201]
        refused = [a for a in answers if a.status_code == 409]
        # on a loaded machine SQLite may answer some "busy, retry" (503, Retry-After): nothing of theirs is stored
        busy = [a for a in answers if a.status_code == 503 and a.headers.get("retry-after")]
        assert len(created) + len(refused) + len(busy) == 100, {a.status_code for a in answers}
        assert len({a.text for a in created}) == 1
        assert sum("idempotent-replayed" not in a.headers for a in created) == 1  # the one that ran
        assert all(a.headers["retry-after"] and a.json()["field"] == "Idempotency-Key" for a in refused)
        later = await client.post(path, json=payment, headers=headers)
        assert later.status_code == 201 and later.headers["idempotent-replayed"] == "true"
        assert later.json() == created[0].json() and await _payments(app) == 1


async def test_a_failed_first_attempt_leaves_the_key_free_and_a_dead_claim_is_never_run_again(make_database):
    app = make_app(await make_database("risk"))
    async with running(app) as client:
        account_id = await add_account(app, "重试客户")
        path = f"/risk/accounts/{account_id}/invoices"
        headers = {**RISK, "Idempotency-Key": "fix-and-retry"}
        wrong = await client.post(path, json={**_invoice_body("INV-1"), "currency": "XX"}, headers=headers)
        assert wrong.status_code == 422, wrong.text
        fixed = await client.post(path, json=_invoice_body("INV-1"), headers=headers)
        assert fixed.status_code == 201 and "idempotent-replayed" not in fixed.headers
        async with app.state.db.transaction(write=False) as session:
            kept = await session.scalar(select(risk_keys.c.body).where(risk_keys.c.key == "fix-and-retry"))
        assert kept.startswith("sealed:") and "INV-1" not in kept  # what an answer holds is not readable from the row
        another = await client.post(path, json=_invoice_body("INV-2"), headers=headers)
        assert another.status_code == 422  # the key is the invoice's now: another request with it is refused
        # Claims whose request never finished answering (its process died after claiming): running, then unknown.
        now = datetime.now(UTC)
        cases = (("running", now, "idempotency-key-in-progress"), ("died", now - timedelta(hours=1), "outcome-unknown"))
        for key, claimed_at, kind in cases:
            request = client.build_request(
                "POST", path, json=_invoice_body("INV-3"), headers={**RISK, "Idempotency-Key": key}
            )
            async with app.state.db.transaction() as session:
                row = {"key": key, "principal": "risk-chen", "status": 0, "body": "", "created_at": claimed_at}
                await session.execute(insert(risk_keys).values(request_hash=_hash_of(request), **row))
            stuck = await client.send(request)
            assert stuck.status_code == 409 and stuck.json()["type"].endswith(kind), stuck.text
            assert ("retry-after" in stuck.headers) is (kind != "outcome-unknown")
        assert await _invoices(app) == 1


def _hash_of(request: httpx.Request) -> str:
    """The fingerprint the middleware computes for ``request``."""
    scope = {"method": request.method, "path": request.url.path, "query_string": request.url.query}
    content_type = request.headers.get("content-type", "")
    body = body_digest(io.BytesIO(request.content), len(request.content), content_type)
    return fingerprint(scope, body, content_type)


async def test_the_answer_is_kept_before_its_last_part_leaves(make_database):
    """A client that has the whole answer and sends the request again is replayed, never told "in progress": the
    key's row is finished (a 2xx) or gone (anything else) when the answer's last body part is sent."""
    app = make_app(await make_database("risk"))
    async with running(app):
        account_id = await add_account(app, "先存后答")
    path = f"/risk/accounts/{account_id}/invoices"

    async def status_when_answered(key: str, body: dict[str, Any]) -> tuple[int, int | None, int]:
        content = httpx.Request("POST", "http://t" + path, json=body).content
        token = RISK["Authorization"].encode()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "server": ("t", 80),
            "client": ("127.0.0.1", 1),
            "headers": [
                (b"host", b"t"),
                (b"authorization", token),
                (b"idempotency-key", key.encode()),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(content)).encode()),
            ],
        }
        sent = False
        seen: dict[str, Any] = {}

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # the client stays connected
            sent = True
            return {"type": "http.request", "body": content, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                async with app.state.db.transaction(write=False) as session:
                    seen["row"] = await session.scalar(select(risk_keys.c.status).where(risk_keys.c.key == key))
                seen["final"] = seen.get("final", 0) + 1

        async with running(app):
            await app(scope, receive, send)
        return seen["status"], seen["row"], seen["final"]

    assert await status_when_answered("kept-first", _invoice_body("INV-9")) == (201, 201, 1)
    wrong = {**_invoice_body("INV-10"), "currency": "XX"}
    assert await status_when_answered("released-first", wrong) == (422, None, 1)
