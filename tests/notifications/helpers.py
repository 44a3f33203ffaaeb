"""Building blocks for the notifications tests: the app, a real SMTP server, a real HTTP receiver, people, accounts,
and the events other services publish."""

from __future__ import annotations

import asyncio
import contextlib
import email
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import nats
import uvicorn
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from fastapi import FastAPI
from nats.js.errors import BadRequestError
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from services.notifications.app import create_app
from services.notifications.config import NotificationsSettings
from services.notifications.delivery.models import Delivery
from shared.bus.nats import stream_config
from shared.events import (
    AccountRegistered,
    ComplaintSlaBreached,
    ComplaintSlaData,
    ComplaintSlaWarning,
    EventBase,
    LimitRequestData,
    LimitRequestSubmitted,
    UserData,
    UserRegistered,
)
from shared.nats_server import free_port
from tests.support import auth, service_settings

ADMIN = auth("admin", user_id="u-admin")
LI = auth("account_manager", user_id="am-li")
WANG = auth("supervisor", user_id="sup-wang")
# 2026-03-02 10:00 in Shanghai (a Monday, working hours).
MORNING = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
ACCOUNT_NAME = "华东精密制造有限公司"
COMPLAINT_TITLE = "产线设备停机"


@dataclass(frozen=True)
class Someone:
    user_id: str
    name: str
    roles: tuple[str, ...]
    email: str | None = None
    channels: dict[str, str] = field(default_factory=dict)
    active: bool = True


PEOPLE = (
    Someone("u-admin", "管理员", ("admin",), "admin@kam.example"),
    Someone("am-li", "李雷", ("account_manager",), "li.lei@kam.example", {"wecom": "LiLei", "dingtalk": "ding-li"}),
    Someone("am-zhang", "张伟", ("account_manager",), "zhang.wei@kam.example"),
    Someone("sup-wang", "王芳", ("supervisor",), "wang.fang@kam.example", {"wecom": "WangFang", "feishu": "ou_wang"}),
    Someone("sup-zhao", "赵敏", ("supervisor",), "zhao.min@kam.example"),
    Someone("ro-chen", "陈静", ("risk_officer",), "chen.jing@kam.example"),
    Someone("ro-liu", "刘洋", ("risk_officer",), "liu.yang@kam.example"),
    Someone("ro-maker", "孙强", ("risk_officer",), "sun.qiang@kam.example"),
    Someone("ro-gone", "周离", ("risk_officer",), "zhou.li@kam.example", active=False),
    Someone("viewer-qian", "钱观", ("viewer",), "qian.guan@kam.example"),
)


def user_events(at: datetime) -> list[UserRegistered]:
    """The gateway's announcements of every test person (with email and IM ids)."""
    return [
        UserRegistered(
            source="gateway",
            time=at,
            data=UserData(
                user_id=p.user_id,
                display_name=p.name,
                roles=list(p.roles),
                active=p.active,
                email=p.email,
                channels=p.channels,
            ),
        )
        for p in PEOPLE
    ]


def account_event(at: datetime, *, name: str = ACCOUNT_NAME, owner: str = "am-li", tier: str = "strategic"):
    """Scoring's announcement of an account."""
    return AccountRegistered(
        source="scoring",
        account_id=str(uuid.uuid4()),
        time=at,
        data={"name": name, "industry": "制造业", "region": "华东", "tier": tier, "owner_id": owner},
    )


def sla_event(
    kind: type[ComplaintSlaWarning] | type[ComplaintSlaBreached],
    account_id: str,
    *,
    at: datetime,
    due_at: datetime,
    complaint_id: str | None = None,
    title: str = COMPLAINT_TITLE,
    timer: str = "first_response",
    owner: str = "am-li",
    tier: str = "strategic",
) -> EventBase:
    """The SLA warning or breach the complaints service publishes."""
    data = ComplaintSlaData(
        complaint_id=complaint_id or str(uuid.uuid4()),
        timer=timer,  # type: ignore[arg-type]
        due_at=due_at,
        severity="high",
        tier=tier,
        owner_id=owner,
        title=title,
    )
    return kind(source="complaints", account_id=account_id, time=at, data=data)


def limit_request_event(account_id: str, *, at: datetime, maker: str = "ro-maker") -> LimitRequestSubmitted:
    """A credit limit request waiting for a checker, as the risk service publishes it."""
    data = LimitRequestData(request_id=str(uuid.uuid4()), requested_by=maker, requested_limit="5000000")
    return LimitRequestSubmitted(source="risk", account_id=account_id, time=at, data=data)


class TickingClock:
    """A clock that starts at a chosen instant and then moves with real time (retries with back-off need time
    to pass; the business instant is still the test's choice)."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.started = time.monotonic()
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return self.start + self.offset + timedelta(seconds=time.monotonic() - self.started)

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def notifications_app(database_url: str, *, nats_url: str | None = None, clock: Any = None, **overrides: Any):
    """A notifications app for tests: fast worker, small back-off, no stale-event cut-off."""
    values: dict[str, Any] = {
        "delivery_poll_seconds": 0.05,
        "digest_poll_seconds": 0.05,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.4,
        "stale_event_hours": 0,
        "console_base_url": "https://ka.example.cn/console",
        "smtp_port": 1,  # nothing listens there: tests that send email give their SMTP server's port
    }
    values.update(overrides)
    settings = service_settings(NotificationsSettings, database_url=database_url, nats_url=nats_url, **values)
    return create_app(settings, clock=clock)


async def apply(app: FastAPI, *events: EventBase) -> None:
    """Hand events to the app's own consumer (the code path a NATS message takes, without NATS)."""
    for event in events:
        await app.state.consumer.process(event)


# ---------------------------------------------------------------- NATS


async def publish(nats_url: str, *events: EventBase) -> None:
    """Publish events on JetStream as the other services' relays do (``Nats-Msg-Id`` = event id)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream(timeout=5)
        for domain in sorted({e.type.split(".", 1)[0] for e in events}):
            with contextlib.suppress(BadRequestError):
                await js.add_stream(stream_config(domain))
        for event in events:
            await js.publish(event.subject, event.model_dump_json().encode(), headers={"Nats-Msg-Id": event.id})
    finally:
        await nc.close()


# ---------------------------------------------------------------- a real SMTP server


class _Collector:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.refuse_with:
            return self.sink.refuse_with
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.sink.received.append((list(envelope.rcpt_tos), message, raw))
        return "250 OK"


class MailSink:
    """An aiosmtpd server on a free port in the test's loop; what it received, parsed."""

    def __init__(self, *, tls_context: Any = None, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.tls_context = tls_context
        self.credentials = credentials
        self.received: list[tuple[list[str], EmailMessage, bytes]] = []
        self.refuse_with: str | None = None
        self.server: asyncio.Server | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any):
        ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False)  # on failure aiosmtpd answers 535 itself

    def _protocol(self) -> SMTP:
        kwargs: dict[str, Any] = {"hostname": "mail.test", "enable_SMTPUTF8": False}
        if self.tls_context is not None:
            kwargs |= {"tls_context": self.tls_context, "require_starttls": True}
        if self.credentials is not None:
            kwargs |= {"authenticator": self._authenticate, "auth_required": True}
        return SMTP(_Collector(self), **kwargs)

    async def start(self) -> MailSink:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(self._protocol, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages received for one address."""
        return [message for rcpts, message, _ in self.received if address in rcpts]


@contextlib.asynccontextmanager
async def mail_sink(**kwargs: Any) -> AsyncIterator[MailSink]:
    sink = await MailSink(**kwargs).start()
    try:
        yield sink
    finally:
        await sink.stop()


# ---------------------------------------------------------------- a real HTTP receiver


@dataclass
class Received:
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        import json

        return json.loads(self.body)


class Receiver:
    """An HTTP server (uvicorn on a free port) that records every request; ``respond`` decides the answer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.requests: list[Received] = []
        self.respond: Callable[[Request, bytes], Response] = lambda request, body: _ok_for(request.url.path)
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        body = await request.body()
        response = self.respond(request, body)
        self.requests.append(
            Received(request.url.path, request.url.query, dict(request.headers), body, response.status_code)
        )
        await response(scope, receive, send)

    async def start(self) -> Receiver:
        config = uvicorn.Config(self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[attr-defined]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

    def at(self, path: str) -> list[Received]:
        """The requests to one path."""
        return [r for r in self.requests if r.path == path]


def _ok_for(path: str) -> Response:
    if path.startswith("/feishu"):
        return JSONResponse({"code": 0, "msg": "success", "data": {}})
    if path.startswith(("/wecom", "/dingtalk")):
        return JSONResponse({"errcode": 0, "errmsg": "ok"})
    return Response(status_code=204)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    try:
        yield server
    finally:
        await server.stop()


# ---------------------------------------------------------------- reading the service's state


async def deliveries(app: FastAPI, **where: Any) -> list[Delivery]:
    """The app's deliveries with the given column values."""
    async with app.state.db.transaction(write=False) as session:
        query = select(Delivery).order_by(Delivery.created_at, Delivery.id)
        for name, value in where.items():
            query = query.where(getattr(Delivery, name) == value)
        return list((await session.execute(query)).scalars())


def subject_of(message: EmailMessage) -> str:
    """The decoded subject (the wire form is RFC 2047 encoded-words)."""
    return str(message["Subject"])


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


# ---------------------------------------------------------------- set-up through the API


WEBHOOK_SECRET = "whsec_test_" + "k" * 24


async def knows_everyone(app: FastAPI, account_id: str) -> bool:
    """Whether the app has projected every test person and the account."""
    from services.notifications.models import platform

    async with app.state.db.transaction(write=False) as session:
        users = (await session.execute(select(platform.users.c.user_id))).scalars().all()
        account = await session.scalar(
            select(platform.accounts.c.account_id).where(platform.accounts.c.account_id == account_id)
        )
    return account is not None and {p.user_id for p in PEOPLE} <= set(users)


async def set_up_team_robot_and_webhook(
    client: Any, receiver_url: str, *, kinds: list[str] | None = None, secret: str = WEBHOOK_SECRET
) -> dict[str, Any]:
    """The east team (supervisor 王芳, member 李雷), its WeCom robot, and an ERP's webhook subscription."""
    team = await client.post(
        "/notifications/teams",
        json={"code": "east-ka", "name": "华东KA组", "supervisor_id": "sup-wang", "member_ids": ["am-li"]},
        headers=ADMIN,
    )
    assert team.status_code == 201, team.text
    robot = await client.post(
        "/notifications/admin/robots",
        json={
            "name": "华东KA群",
            "provider": "wecom",
            "webhook_url": f"{receiver_url}/wecom/send?key=east-team-key",
            "scope": "team",
            "scope_id": "east-ka",
        },
        headers=ADMIN,
    )
    assert robot.status_code == 201, robot.text
    hook = await client.post(
        "/notifications/admin/webhooks",
        json={
            "name": "ERP",
            "url": f"{receiver_url}/hooks/erp",
            "kinds": kinds or ["complaints.sla_warning", "complaints.sla_breached"],
            "secret": secret,
        },
        headers=ADMIN,
    )
    assert hook.status_code == 201, hook.text
    return {"team": team.json(), "robot": robot.json(), "webhook": hook.json()}


async def inbox_of(client: Any, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """A user's inbox items (as they see them through the API)."""
    response = await client.get("/notifications/inbox", headers=headers, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items
