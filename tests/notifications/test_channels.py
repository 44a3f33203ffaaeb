"""Each channel on its real protocol through the queue: SMTP with STARTTLS and AUTH, refusals that are permanent or
not, dead letters and their replay, DingTalk and Feishu robots with their signatures, a worker that died mid-send."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ssl
import subprocess
from datetime import timedelta
from urllib.parse import parse_qs

from starlette.responses import JSONResponse, Response

from services.notifications.delivery.service import claim_due
from services.notifications.jobs import deliver_due
from shared.clock import FrozenClock
from shared.events import ComplaintSlaBreached, ComplaintSlaWarning, UserData, UserUpdated
from tests.notifications.helpers import (
    ADMIN,
    MORNING,
    WEBHOOK_SECRET,
    TickingClock,
    account_event,
    apply,
    deliveries,
    mail_sink,
    notifications_app,
    sla_event,
    subject_of,
    user_events,
)
from tests.support import running, wait_until

LI_MAIL = "li.lei@kam.example"


async def _seed(app, **account) -> str:
    event = account_event(MORNING, **account)
    await apply(app, *user_events(MORNING), event)
    assert event.account_id is not None
    return event.account_id


def _warning(account_id, **kw):
    return sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=1), **kw)


async def _status(app, status, **where):
    rows = await deliveries(app, **where)
    return rows if rows and all(d.status == status for d in rows) else None


def _self_signed(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context


async def test_email_over_starttls_with_auth_and_a_refused_login_is_retried(sqlite_database, tmp_path):
    cert, context = _self_signed(tmp_path)
    async with mail_sink(tls_context=context, credentials=("kam-mailer", "s3cret-pass")) as mail:
        settings = {
            "smtp_port": mail.port,
            "smtp_security": "starttls",
            "smtp_ca_file": str(cert),
            "smtp_username": "kam-mailer",
            "smtp_password": "wrong-pass",
            "delivery_worker": False,  # this test is the worker: the app's own would claim the email behind its back
        }
        app = notifications_app(await sqlite_database("n"), clock=FrozenClock(MORNING), **settings)
        async with running(app):
            await apply(app, _warning(await _seed(app)))
            await deliver_due(app)
            [refused] = await deliveries(app, channel="email")
            assert refused.status == "retrying" and "login refused" in (refused.last_error or "")
            app.state.settings = app.state.settings.model_copy(update={"smtp_password": "s3cret-pass"})
            app.state.clock.advance(timedelta(minutes=1))
            await deliver_due(app)
            [sent] = await deliveries(app, channel="email")
            assert sent.status == "delivered" and sent.attempts == 2
        [(rcpts, message, raw)] = mail.received
        assert rcpts == [LI_MAIL] and subject_of(message).startswith("【SLA预警】")
        assert b"Content-Transfer-Encoding: base64" in raw  # no 8-bit body needed from the relay


async def test_a_permanent_refusal_is_dead_at_once_and_an_admin_replays_it(sqlite_database, mail):
    app = notifications_app(await sqlite_database("n"), clock=FrozenClock(MORNING), smtp_port=mail.port)
    mail.refuse_with = "550 5.1.1 mailbox unavailable"
    async with running(app) as client:
        await apply(app, _warning(await _seed(app)))
        [dead] = await wait_until(lambda: _status(app, "dead", channel="email"), message="the email dead-lettered")
        assert dead.attempts == 1 and dead.last_status_code == 550
        listed = await client.get("/notifications/deliveries", params={"status": "dead"}, headers=ADMIN)
        assert [d["id"] for d in listed.json()["items"]] == [dead.id]
        mail.refuse_with = None  # the mailbox is fixed
        replayed = await client.post(f"/notifications/admin/deliveries/{dead.id}/replay", headers=ADMIN)
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        await wait_until(lambda: _status(app, "delivered", channel="email"), message="the replayed email")
        detail = (await client.get(f"/notifications/deliveries/{dead.id}", headers=ADMIN)).json()
        assert [(a["number"], a["outcome"]) for a in detail["attempt_log"]] == [(1, "failed"), (2, "delivered")]
        assert len(mail.received) == 1


async def test_a_webhook_out_of_attempts_is_dead_lettered_and_replayed_per_subscription(sqlite_database, http):
    app = notifications_app(await sqlite_database("n"), clock=TickingClock(MORNING), delivery_max_attempts=2)
    http.respond = lambda request, body: Response("down", status_code=500)
    async with running(app) as client:
        account_id = await _seed(app)
        hook = await client.post(
            "/notifications/admin/webhooks",
            headers=ADMIN,
            json={
                "name": "ERP",
                "url": f"{http.url}/hooks/erp",
                "kinds": ["complaints.sla_warning"],
                "secret": WEBHOOK_SECRET,
            },
        )
        await apply(app, _warning(account_id), _warning(account_id))
        dead = await wait_until(lambda: _status(app, "dead", channel="webhook"), message="both dead-lettered")
        assert len(dead) == 2 and all(d.attempts == 2 for d in dead)
        http.respond = lambda request, body: Response(status_code=202)
        replay = await client.post(f"/notifications/admin/webhooks/{hook.json()['id']}/replay", headers=ADMIN)
        assert replay.json()["replayed"] == 2
        await wait_until(lambda: _status(app, "delivered", channel="webhook"), message="the replayed deliveries")
        accepted = [r.headers["x-kam-delivery"] for r in http.at("/hooks/erp") if r.status == 202]
        assert sorted(accepted) == sorted(d.id for d in dead)


async def test_dingtalk_and_feishu_robots_get_signed_messages_and_an_error_code_is_retried(sqlite_database, http):
    app = notifications_app(await sqlite_database("n"), clock=TickingClock(MORNING))
    answers = {"feishu": [{"code": 9499, "msg": "too many requests"}]}

    def respond(request, body):
        if request.url.path.startswith("/feishu") and answers["feishu"]:
            return JSONResponse(answers["feishu"].pop())
        if request.url.path.startswith("/feishu"):
            return JSONResponse({"code": 0, "msg": "success"})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    http.respond = respond
    async with running(app) as client:
        account_id = await _seed(app)
        for provider, path, secret in (
            ("dingtalk", "/dingtalk/robot/send?access_token=dt", "SECding"),
            ("feishu", "/feishu/open-apis/bot/v2/hook/fs", "fs-secret"),
        ):
            response = await client.post(
                "/notifications/admin/robots",
                headers=ADMIN,
                json={
                    "name": provider,
                    "provider": provider,
                    "webhook_url": http.url + path,
                    "secret": secret,
                    "scope": "account",
                    "scope_id": account_id,
                    "language": "en",
                },
            )
            assert response.status_code == 201
        breach = sla_event(ComplaintSlaBreached, account_id, at=MORNING, due_at=MORNING)
        await apply(app, breach)
        await wait_until(lambda: _status(app, "delivered", channel="feishu"), message="the Feishu card after a retry")
        await wait_until(lambda: _status(app, "delivered", channel="dingtalk"), message="the DingTalk message")

        [ding] = http.at("/dingtalk/robot/send")
        query = parse_qs(ding.query)
        expected = hmac.new(b"SECding", f"{query['timestamp'][0]}\nSECding".encode(), hashlib.sha256).digest()
        assert query["sign"] == [base64.b64encode(expected).decode()] and query["access_token"] == ["dt"]
        body = ding.json()
        assert body["msgtype"] == "markdown" and body["markdown"]["title"].startswith("[SLA breached]")
        assert body["at"]["atUserIds"] == ["ding-li"]  # the owner's DingTalk id

        feishu = http.at("/feishu/open-apis/bot/v2/hook/fs")
        assert len(feishu) == 2  # refused with code 9499, then accepted
        card = feishu[-1].json()
        timestamp = card["timestamp"]
        expected = hmac.new(f"{timestamp}\nfs-secret".encode(), b"", hashlib.sha256).digest()
        assert card["sign"] == base64.b64encode(expected).decode()
        assert card["msg_type"] == "interactive" and card["card"]["header"]["template"] == "red"
        assert "<at id=ou_wang></at>" in card["card"]["elements"][0]["text"]["content"]
        [delivery] = await deliveries(app, channel="feishu")
        assert delivery.attempts == 2 and delivery.last_error is None


async def test_a_claim_left_by_a_dead_worker_is_taken_again_once_its_lease_expires(sqlite_database, mail):
    clock = FrozenClock(MORNING)
    app = notifications_app(
        await sqlite_database("n"),
        clock=clock,
        smtp_port=mail.port,
        delivery_worker=False,  # this test is the worker: nothing else may claim behind its back
        delivery_lease_seconds=60,
    )
    async with running(app):
        await apply(app, _warning(await _seed(app)))
        async with app.state.db.transaction() as session:  # a worker claims … and dies before sending
            [claimed] = await claim_due(session, now=clock.now(), settings=app.state.settings)
        assert await deliver_due(app) == 0  # the claim holds
        clock.advance(timedelta(seconds=61))
        assert await deliver_due(app) == 1
        [email] = await deliveries(app, channel="email")
        assert email.id == claimed.delivery_id and email.status == "delivered"
    assert len(mail.received) == 1


async def test_a_user_without_email_is_logged_as_skipped_and_a_stale_event_tells_nobody(sqlite_database):
    app = notifications_app(await sqlite_database("n"), clock=FrozenClock(MORNING), stale_event_hours=6)
    async with running(app):
        account_id = await _seed(app)
        no_mail = UserData(user_id="am-li", display_name="李雷", roles=["account_manager"], email=None)
        await apply(app, UserUpdated(source="gateway", time=MORNING + timedelta(seconds=1), data=no_mail))
        await apply(app, _warning(account_id))
        [email] = await deliveries(app, channel="email")
        assert email.status == "skipped" and email.last_error == "the user has no email address"
        old = sla_event(ComplaintSlaWarning, account_id, at=MORNING - timedelta(hours=7), due_at=MORNING)
        await apply(app, old)
        assert await deliveries(app, event_id=old.id) == []
