"""The issue's acceptance, end to end: events on a real NATS, a real SMTP server, a real HTTP receiver for the
webhook and the WeCom robot, real databases (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import nats
from nats.js.errors import NotFoundError
from starlette.responses import Response

from services.notifications.webhooks.service import verify
from shared.clock import FrozenClock
from shared.events import ComplaintSlaBreached, ComplaintSlaWarning
from shared.nats_server import NatsServer
from tests.notifications.helpers import (
    ACCOUNT_NAME,
    ADMIN,
    COMPLAINT_TITLE,
    LI,
    MORNING,
    WANG,
    WEBHOOK_SECRET,
    TickingClock,
    account_event,
    deliveries,
    html_of,
    inbox_of,
    knows_everyone,
    limit_request_event,
    notifications_app,
    publish,
    set_up_team_robot_and_webhook,
    sla_event,
    subject_of,
    text_of,
    user_events,
)
from tests.notifications.upstream import create_upstream, outbox_pending, publish_through_outbox
from tests.support import auth, running, wait_until

LI_MAIL, WANG_MAIL = "li.lei@kam.example", "wang.fang@kam.example"
CONSOLE = "https://ka.example.cn/console"


async def _start_world(app, client, nats_url, at, http_url=None):
    account = account_event(at)
    await publish(nats_url, *user_events(at), account)
    await wait_until(lambda: knows_everyone(app, account.account_id), message="people and account projected")
    if http_url is not None:
        await set_up_team_robot_and_webhook(client, http_url)
    return account.account_id


async def test_warning_to_owner_inbox_and_email_breach_to_supervisor_team_robot_and_a_signed_webhook(
    make_database, nats_url, mail, http
):
    clock = FrozenClock(MORNING)
    app = notifications_app(await make_database("notifications"), nats_url=nats_url, clock=clock, smtp_port=mail.port)
    async with running(app) as client:
        account_id = await _start_world(app, client, nats_url, MORNING, http.url)
        complaint_id = str(uuid.uuid4())
        # A complaint on a strategic account with a 30-minute first response: the warning comes 20 minutes before.
        due = MORNING + timedelta(minutes=30)
        warning = sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=due, complaint_id=complaint_id)
        await publish(nats_url, warning)

        items = await wait_until(lambda: inbox_of(client, LI), message="the warning in the owner's inbox")
        assert [i["kind"] for i in items] == ["complaints.sla_warning"]
        assert items[0]["subject"] == f"【SLA预警】{ACCOUNT_NAME}：投诉「{COMPLAINT_TITLE}」首次响应即将超时"
        assert items[0]["due"] == "2026-03-02 10:30（北京时间）"  # the due time in the company's zone
        assert items[0]["link"] == f"{CONSOLE}/complaints/{complaint_id}"
        assert items[0]["read"] is False and items[0]["critical"] is False
        assert (await client.get("/notifications/inbox/unread-count", headers=LI)).json() == {
            "unread": 1,
            "critical": 0,
        }

        [(message, raw)] = await wait_until(lambda: _mails(mail, LI_MAIL), message="the warning email to the owner")
        assert b"Subject: =?utf-8?b?" in raw  # RFC 2047 on the wire …
        assert subject_of(message) == items[0]["subject"]  # … decoded intact
        assert message["To"].addresses[0].display_name == "李雷"
        assert "2026-03-02 10:30（北京时间）" in text_of(message) and items[0]["link"] in text_of(message)
        assert f'href="{items[0]["link"]}"' in html_of(message)
        assert not mail.to(WANG_MAIL), "a warning is for the owner only"

        clock.set(due + timedelta(minutes=1))
        breach = sla_event(ComplaintSlaBreached, account_id, at=clock.now(), due_at=due, complaint_id=complaint_id)
        await publish(nats_url, breach)

        supervisor_items = await wait_until(lambda: inbox_of(client, WANG), message="the breach for the supervisor")
        assert supervisor_items[0]["kind"] == "complaints.sla_breached" and supervisor_items[0]["critical"] is True
        [(wang_mail, _)] = await wait_until(
            lambda: _mails(mail, WANG_MAIL), message="the breach email to the supervisor"
        )
        assert subject_of(wang_mail) == f"【SLA超时】{ACCOUNT_NAME}：投诉「{COMPLAINT_TITLE}」首次响应已超时"
        assert not mail.to("zhao.min@kam.example"), "the owner's own supervisor, not every supervisor"

        [robot_post] = await wait_until(lambda: _posts(http, "/wecom/send"), message="the team's WeCom robot")
        assert robot_post.query == "key=east-team-key"
        body = robot_post.json()
        assert body["msgtype"] == "markdown" and set(body) == {"msgtype", "markdown"}
        content = body["markdown"]["content"]
        assert "【SLA超时】" in content and ACCOUNT_NAME in content
        assert f"[查看详情]({CONSOLE}/complaints/{complaint_id})" in content
        assert "<@LiLei>" in content and "<@WangFang>" in content  # the people told, mentioned by their WeCom ids

        hooks = await wait_until(lambda: _posts(http, "/hooks/erp", 2), message="both webhook deliveries")
        for post in hooks:
            timestamp = int(post.headers["x-kam-timestamp"])
            signature = post.headers["x-kam-signature"]
            assert timestamp in {int(MORNING.timestamp()), int(clock.now().timestamp())}  # signed when sent
            assert verify(WEBHOOK_SECRET, timestamp, post.body, signature, now=timestamp + 1, tolerance=300)
            assert not verify("not-the-secret-000000", timestamp, post.body, signature, now=timestamp, tolerance=300)
            payload = json.loads(post.body)
            assert payload["delivery_id"] == post.headers["x-kam-delivery"]
            assert payload["account"] == {"id": account_id, "name": ACCOUNT_NAME, "tier": "strategic"}
            assert payload["event_id"] in {warning.id, breach.id}
        assert {json.loads(p.body)["kind"] for p in hooks} == {"complaints.sla_warning", "complaints.sla_breached"}

        async def breach_log():
            response = await client.get("/notifications/deliveries", params={"event_id": breach.id}, headers=ADMIN)
            items = response.json()["items"]
            return items if all(d["status"] == "delivered" for d in items) else None

        log = await wait_until(breach_log, message="every delivery of the breach marked delivered")
        assert sorted((d["recipient"], d["channel"]) for d in log if d["channel"] in ("in_app", "email")) == [
            ("am-li", "email"),
            ("am-li", "in_app"),
            ("sup-wang", "email"),
            ("sup-wang", "in_app"),
        ]
        assert sorted(d["channel"] for d in log if d["channel"] not in ("in_app", "email")) == ["webhook", "wecom"]


async def _mails(mail, address, n=1):
    found = [(m, raw) for rcpts, m, raw in mail.received if address in rcpts]
    return found if len(found) >= n else None


async def _posts(http, path, n=1):
    found = http.at(path)
    return found if len(found) >= n else None


async def test_a_refusing_webhook_receiver_gets_every_delivery_once_after_it_recovers(make_database, nats_url, http):
    app = notifications_app(await make_database("notifications"), nats_url=nats_url, clock=TickingClock(MORNING))
    refusing = True

    def respond(request, body):
        if refusing:
            return Response("busy", status_code=503)
        return Response(status_code=204)

    http.respond = respond
    async with running(app) as client:
        account_id = await _start_world(app, client, nats_url, MORNING)
        hook = await client.post(
            "/notifications/admin/webhooks",
            json={"name": "ERP", "url": f"{http.url}/hooks/erp", "kinds": ["*"], "secret": WEBHOOK_SECRET},
            headers=ADMIN,
        )
        assert hook.status_code == 201
        events = [
            sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=1))
            for _ in range(5)
        ]
        await publish(nats_url, *events)

        async def each_refused_twice():
            rows = await deliveries(app, channel="webhook")
            return len(rows) == 5 and all(d.attempts >= 2 and d.status == "retrying" for d in rows)

        await wait_until(each_refused_twice, message="every webhook delivery refused and retried")
        refused = len(http.requests)
        refusing = False

        async def all_delivered():
            rows = await deliveries(app, channel="webhook")
            return rows if all(d.status == "delivered" for d in rows) else None

        rows = await wait_until(all_delivered, message="every webhook delivery delivered")
        accepted = [r for r in http.at("/hooks/erp") if r.status == 204]
        assert sorted(r.headers["x-kam-delivery"] for r in accepted) == sorted(d.id for d in rows)  # each once
        assert sorted(json.loads(r.body)["event_id"] for r in accepted) == sorted(e.id for e in events)
        assert refused >= 10
        detail = (await client.get(f"/notifications/deliveries/{rows[0].id}", headers=ADMIN)).json()
        outcomes = [a["outcome"] for a in detail["attempt_log"]]
        assert outcomes[-1] == "delivered" and set(outcomes[:-1]) == {"failed"} and len(outcomes) >= 3
        assert detail["attempt_log"][0]["status_code"] == 503
        metrics = (await client.get("/metrics", headers=auth("admin"))).text
        assert 'kam_notification_deliveries_total{channel="webhook",outcome="delivered"} 5.0' in metrics


async def test_nats_restarted_mid_flow_loses_and_doubles_no_notification(make_database, tmp_path, mail):
    server = NatsServer(tmp_path / "nats").start()
    try:
        upstream = await create_upstream(await make_database("upstream"), server.url)
        app = notifications_app(await make_database("notifications"), nats_url=server.url, smtp_port=mail.port)
        async with running(upstream), running(app) as client:
            account_id = await _start_world(app, client, server.url, datetime.now(UTC))

            def warnings(n):
                now = datetime.now(UTC)
                return [
                    sla_event(ComplaintSlaWarning, account_id, at=now, due_at=now + timedelta(hours=1))
                    for _ in range(n)
                ]

            first = await publish_through_outbox(upstream, *warnings(15))
            await wait_until(lambda: _has_mail(mail, 1), message="the first notifications under way")
            server.stop()  # mid-flow: some events handled, some in the stream, some deliveries queued
            await wait_until(lambda: _disconnected(app), message="notifications notices the outage")
            second = await publish_through_outbox(upstream, *warnings(15))  # kept in the publisher's outbox
            server.start()
            await wait_until(lambda: _has_mail(mail, 30), timeout=60, message="all 30 emails")
            await wait_until(lambda: _settled(upstream, app, server.url), timeout=30, message="nothing left in flight")
        ids = {e.id for e in first + second}
        assert len(mail.received) == 30
        assert len({m["Message-ID"] for _, m, _ in mail.received}) == 30
        emails = await deliveries(app, channel="email")
        inbox = await deliveries(app, channel="in_app")
        assert sorted(d.event_id for d in emails) == sorted(ids)
        assert sorted(d.event_id for d in inbox) == sorted(ids)
        assert all(d.status == "delivered" for d in emails)
    finally:
        server.stop()


async def _has_mail(mail, n):
    return len(mail.received) >= n


async def _disconnected(app):
    return not app.state.bus.connected


async def _settled(upstream, app, nats_url):
    """The publisher's outbox is empty, the notifications consumer has nothing pending or unacked, and the queue
    holds nothing due."""
    if await outbox_pending(upstream):
        return False
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().consumer_info("KAM_COMPLAINTS", "notifications")
    except NotFoundError:
        return False
    finally:
        await nc.close()
    if info.num_pending or info.num_ack_pending:
        return False
    return not [d for d in await deliveries(app) if d.status in ("pending", "sending", "retrying")]


async def test_quiet_hours_hold_a_warning_for_the_digest_and_let_a_breach_through(make_database, nats_url, mail):
    late = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    clock = FrozenClock(late)
    app = notifications_app(await make_database("notifications"), nats_url=nats_url, clock=clock, smtp_port=mail.port)
    async with running(app) as client:
        account_id = await _start_world(app, client, nats_url, late)
        quiet = {"quiet_hours": {"start": "22:00", "end": "08:00"}, "digest_time": "08:30"}
        assert (await client.put("/notifications/preferences/me", json=quiet, headers=LI)).status_code == 200

        warning = sla_event(ComplaintSlaWarning, account_id, at=late, due_at=late + timedelta(hours=10))
        await publish(nats_url, warning)
        await wait_until(lambda: inbox_of(client, LI), message="the warning in the inbox (the inbox is silent)")
        [held] = await deliveries(app, channel="email", event_id=warning.id)
        assert held.status == "held"
        assert held.held_until == datetime(2026, 3, 3, 0, 30, tzinfo=UTC)  # 08:30 the next morning, Shanghai

        breach = sla_event(ComplaintSlaBreached, account_id, at=late, due_at=late - timedelta(minutes=5))
        await publish(nats_url, breach)
        [(through, _)] = await wait_until(lambda: _mails(mail, LI_MAIL), message="the breach, despite quiet hours")
        assert subject_of(through).startswith("【SLA超时】")

        clock.set(datetime(2026, 3, 3, 0, 31, tzinfo=UTC))  # 08:31: the digest goes out
        mails = await wait_until(lambda: _mails(mail, LI_MAIL, 2), message="the morning digest")
        digest = mails[1][0]
        assert subject_of(digest) == "【每日摘要】1 条通知"
        assert f"【SLA预警】{ACCOUNT_NAME}" in text_of(digest)
        [carried] = await deliveries(app, channel="email", event_id=warning.id)
        assert carried.status == "digested" and carried.digest_id is not None
        assert len(mail.to(LI_MAIL)) == 2  # the breach at once, the warning in the digest, nothing else


async def test_a_limit_request_reaches_the_risk_officers_queue_not_its_maker(make_database, nats_url, mail):
    app = notifications_app(
        await make_database("notifications"), nats_url=nats_url, clock=FrozenClock(MORNING), smtp_port=mail.port
    )
    async with running(app) as client:
        account_id = await _start_world(app, client, nats_url, MORNING)
        request = limit_request_event(account_id, at=MORNING, maker="ro-maker")
        await publish(nats_url, request)

        async def queue_told():
            rows = await deliveries(app, event_id=request.id)
            return rows if len([d for d in rows if d.status == "delivered"]) == 4 else None

        rows = await wait_until(queue_told, message="the risk officers told")
        assert sorted((d.recipient, d.channel) for d in rows) == [
            ("ro-chen", "email"),
            ("ro-chen", "in_app"),
            ("ro-liu", "email"),
            ("ro-liu", "in_app"),
        ]  # not the maker ro-maker, not the deactivated ro-gone, nobody outside the queue
        [item] = await inbox_of(client, auth("risk_officer", user_id="ro-chen"))
        assert item["subject"] == f"【额度审批】{ACCOUNT_NAME}：孙强 申请授信额度 5,000,000.00 CNY"
        assert item["link"] == f"{CONSOLE}/risk/limit-requests/{request.data.request_id}"
        assert await inbox_of(client, auth("risk_officer", user_id="ro-maker")) == []
        assert sorted(address for rcpts, _, _ in mail.received for address in rcpts) == [
            "chen.jing@kam.example",
            "liu.yang@kam.example",
        ]


async def test_the_same_event_delivered_twice_by_nats_notifies_once(make_database, nats_url, mail):
    app = notifications_app(
        await make_database("notifications"), nats_url=nats_url, clock=FrozenClock(MORNING), smtp_port=mail.port
    )
    async with running(app) as client:
        account_id = await _start_world(app, client, nats_url, MORNING)
        warning = sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=1))
        marker = sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=2))
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        # Different message ids defeat JetStream's de-duplication: the service really receives the event twice.
        for msg_id in ("first", "again"):
            await js.publish(warning.subject, warning.model_dump_json().encode(), headers={"Nats-Msg-Id": msg_id})
        await js.publish(marker.subject, marker.model_dump_json().encode(), headers={"Nats-Msg-Id": marker.id})
        await nc.close()
        await wait_until(lambda: _has_mail(mail, 2), message="the warning and the marker emailed")
        assert len(await inbox_of(client, LI)) == 2
        assert len(await deliveries(app, event_id=warning.id)) == 2  # one inbox item, one email
        assert len(mail.to(LI_MAIL)) == 2
