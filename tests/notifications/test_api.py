"""The HTTP API through the ASGI app: the inbox, preferences, routing rules, teams, robots, webhooks and the delivery
log — who may do what, bad input named, versions and idempotency."""

from __future__ import annotations

import json
from datetime import timedelta

from shared.clock import FrozenClock
from shared.events import ComplaintSlaBreached, ComplaintSlaWarning
from tests.notifications.helpers import (
    ADMIN,
    LI,
    MORNING,
    WANG,
    WEBHOOK_SECRET,
    account_event,
    apply,
    deliveries,
    inbox_of,
    notifications_app,
    set_up_team_robot_and_webhook,
    sla_event,
    subject_of,
    user_events,
)
from tests.support import auth, running, wait_until

ZHANG = auth("account_manager", user_id="am-zhang")
VIEWER = auth("viewer", user_id="viewer-qian")


async def _app_with_world(database, **overrides):
    clock = FrozenClock(MORNING)
    app = notifications_app(await database("n"), clock=clock, **overrides)
    return app, clock


async def _seed(app) -> str:
    account = account_event(MORNING)
    await apply(app, *user_events(MORNING), account)
    assert account.account_id is not None
    return account.account_id


async def test_the_inbox_lists_counts_and_marks_only_the_callers_own(sqlite_database):
    app, clock = await _app_with_world(sqlite_database)
    async with running(app) as client:
        account_id = await _seed(app)
        warning = sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=1))
        breach = sla_event(ComplaintSlaBreached, account_id, at=MORNING, due_at=MORNING - timedelta(minutes=1))
        await apply(app, warning, breach)
        items = await inbox_of(client, LI)
        assert [i["kind"] for i in items] == ["complaints.sla_warning", "complaints.sla_breached"] or len(items) == 2
        assert (await client.get("/notifications/inbox/unread-count", headers=LI)).json() == {
            "unread": 2,
            "critical": 1,
        }
        assert [i["kind"] for i in await inbox_of(client, LI, critical=True)] == ["complaints.sla_breached"]
        assert await inbox_of(client, ZHANG) == []

        first = items[0]["id"]
        assert (await client.get(f"/notifications/inbox/{first}", headers=WANG)).status_code == 404  # not theirs
        assert (await client.post(f"/notifications/inbox/{first}/read", headers=WANG)).status_code == 404
        assert (await client.get("/notifications/inbox/not-a-uuid", headers=LI)).status_code == 422
        read = await client.post(f"/notifications/inbox/{first}/read", headers=LI)
        assert read.status_code == 200 and read.json()["read"] is True
        assert len(await inbox_of(client, LI, unread=True)) == 1
        unread = await client.post(f"/notifications/inbox/{first}/unread", headers=LI)
        assert unread.json()["read"] is False

        clock.advance(timedelta(minutes=5))
        before = (MORNING + timedelta(minutes=1)).isoformat()
        later = sla_event(ComplaintSlaWarning, account_id, at=clock.now(), due_at=clock.now() + timedelta(hours=1))
        await apply(app, later)
        marked = await client.post("/notifications/inbox/read-all", json={"before": before}, headers=LI)
        assert marked.json() == {"marked": 2}  # what arrived after the user looked stays unread
        assert (await client.get("/notifications/inbox/unread-count", headers=LI)).json()["unread"] == 1
        naive = await client.post("/notifications/inbox/read-all", json={"before": "2026-03-02T10:00:00"}, headers=LI)
        assert naive.status_code == 422 and "before" in naive.text
        assert (await client.post("/notifications/inbox/read-all", headers=LI)).json() == {"marked": 1}
        sup = await inbox_of(client, WANG)
        assert [i["kind"] for i in sup] == ["complaints.sla_breached"]  # the supervisor only hears of the breach


async def test_preferences_are_versioned_validated_and_an_english_speaker_is_written_to_in_english(
    sqlite_database, mail
):
    app, _ = await _app_with_world(sqlite_database, smtp_port=mail.port)
    async with running(app) as client:
        account_id = await _seed(app)
        defaults = await client.get("/notifications/preferences/me", headers=LI)
        assert defaults.status_code == 200 and defaults.headers["etag"] == '"0"'
        assert defaults.json() == {
            "user_id": "am-li",
            "language": "zh-CN",
            "channels": {},
            "quiet_hours": None,
            "digest_time": "08:30:00",
            "timezone": "Asia/Shanghai",
            "version": 0,
        }
        body = {"language": "en", "channels": {"goals.target_achieved": ["in_app", "email"]}}
        put = await client.put("/notifications/preferences/me", json=body, headers={**LI, "If-Match": '"0"'})
        assert put.status_code == 200 and put.json()["version"] == 1 and put.headers["etag"] == '"1"'
        stale = await client.put("/notifications/preferences/me", json=body, headers={**LI, "If-Match": '"0"'})
        assert stale.status_code == 412
        unknown = await client.put("/notifications/preferences/me", json={"channels": {"nope": ["email"]}}, headers=LI)
        assert unknown.status_code == 422 and "channels" in unknown.json()["errors"][0]["field"]
        bad_channel = await client.put("/notifications/preferences/me", json={"channels": {"*": ["sms"]}}, headers=LI)
        assert bad_channel.status_code == 422
        aware = {"quiet_hours": {"start": "22:00+08:00", "end": "08:00"}}
        assert (await client.put("/notifications/preferences/me", json=aware, headers=LI)).status_code == 422
        same = {"quiet_hours": {"start": "22:00", "end": "22:00"}}
        assert (await client.put("/notifications/preferences/me", json=same, headers=LI)).status_code == 422
        assert (
            await client.put("/notifications/preferences/me", json={"colour": "red"}, headers=LI)
        ).status_code == 422

        await apply(app, sla_event(ComplaintSlaWarning, account_id, at=MORNING, due_at=MORNING + timedelta(hours=2)))
        [message] = await wait_until(lambda: _mail_to(mail, "li.lei@kam.example"), message="the English email")
        assert subject_of(message).startswith("[SLA warning] 华东精密制造有限公司: first response of complaint")
        assert message["Content-Language"] == "en"
        [item] = await inbox_of(client, LI)
        assert item["language"] == "en" and item["due"] == "2026-03-02 12:00 (China time, UTC+08:00)"


async def _mail_to(mail, address):
    return mail.to(address) or None


async def test_routing_rules_are_read_by_supervisors_and_changed_by_admins(sqlite_database):
    app, _ = await _app_with_world(sqlite_database)
    async with running(app) as client:
        await _seed(app)
        listed = await client.get("/notifications/rules", headers=WANG)
        assert listed.status_code == 200
        codes = {r["code"] for r in listed.json()}
        assert {"complaint-sla-warning", "complaint-sla-breached", "risk-limit-request"} <= codes
        assert all(r["builtin"] for r in listed.json())
        assert (await client.get("/notifications/rules", headers=LI)).status_code == 403
        for_kind = await client.get("/notifications/rules", params={"event_kind": "risk.alert_raised"}, headers=WANG)
        assert sorted(r["code"] for r in for_kind.json()) == ["risk-alert-raised", "risk-alert-red"]
        assert "queue" in (await client.get("/notifications/rules/recipients", headers=WANG)).json()

        rule = {
            "code": "red-alerts-to-ceo",
            "event_kind": "risk.alert_raised",
            "levels": ["red"],
            "tiers": ["strategic"],
            "recipients": ["user:ceo", "role:supervisor"],
        }
        assert (await client.post("/notifications/rules", json=rule, headers=WANG)).status_code == 403
        keyed = {**ADMIN, "Idempotency-Key": "rule-1"}
        created = await client.post("/notifications/rules", json=rule, headers=keyed)
        assert created.status_code == 201 and created.json()["channels"] == ["in_app", "email"]
        again = await client.post("/notifications/rules", json=rule, headers=keyed)
        assert again.status_code == 201 and again.json() == created.json()  # replayed, not created twice
        assert (await client.post("/notifications/rules", json=rule, headers=ADMIN)).status_code == 409
        bad = await client.post(
            "/notifications/rules", json={**rule, "code": "x-y", "recipients": ["boss"]}, headers=ADMIN
        )
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "recipients"
        bad_kind = await client.post(
            "/notifications/rules", json={**rule, "code": "x-z", "event_kind": "risk.nope"}, headers=ADMIN
        )
        assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "event_kind"

        path = "/notifications/rules/red-alerts-to-ceo"
        changed = await client.patch(path, json={"channels": ["in_app"]}, headers={**ADMIN, "If-Match": '"1"'})
        assert changed.status_code == 200 and changed.json()["version"] == 2
        stale = await client.patch(path, json={"enabled": False}, headers={**ADMIN, "If-Match": '"1"'})
        assert stale.status_code == 412
        builtin = await client.delete("/notifications/rules/complaint-sla-warning", headers=ADMIN)
        assert builtin.status_code == 409 and "disable" in builtin.json()["detail"]
        assert (await client.delete(path, headers=ADMIN)).status_code == 204
        assert (await client.get(path, headers=ADMIN)).status_code == 404


async def test_teams_name_known_people_only(sqlite_database):
    app, _ = await _app_with_world(sqlite_database)
    async with running(app) as client:
        await _seed(app)
        team = {"code": "east-ka", "name": "华东KA组", "supervisor_id": "am-zhang", "member_ids": ["am-li"]}
        unfit = await client.post("/notifications/teams", json=team, headers=ADMIN)
        assert unfit.status_code == 422 and unfit.json()["errors"][0]["field"] == "supervisor_id"
        ghost = await client.post(
            "/notifications/teams", json={**team, "supervisor_id": "sup-wang", "member_ids": ["nobody"]}, headers=ADMIN
        )
        assert ghost.status_code == 422 and ghost.json()["errors"][0]["field"] == "member_ids.0"
        created = await client.post("/notifications/teams", json={**team, "supervisor_id": "sup-wang"}, headers=ADMIN)
        assert created.status_code == 201
        assert (await client.get("/notifications/teams", headers=WANG)).json()[0]["supervisor_id"] == "sup-wang"
        moved = await client.patch(
            "/notifications/teams/east-ka", json={"supervisor_id": "sup-zhao"}, headers={**ADMIN, "If-Match": '"1"'}
        )
        assert moved.status_code == 200 and moved.json()["supervisor_id"] == "sup-zhao"
        assert (await client.delete("/notifications/teams/east-ka", headers=WANG)).status_code == 403


async def test_robots_hide_their_keys_and_answer_a_test_message(sqlite_database, http):
    app, _ = await _app_with_world(sqlite_database)
    async with running(app) as client:
        body = {
            "name": "华东群",
            "provider": "dingtalk",
            "webhook_url": f"{http.url}/dingtalk/robot/send?access_token=t0k3n-9876",
            "secret": "SECdingtalk",
            "scope": "team",
            "scope_id": "east-ka",
        }
        assert (
            await client.post("/notifications/admin/robots", json={**body, "scope_id": None}, headers=ADMIN)
        ).status_code == 422
        assert (await client.post("/notifications/admin/robots", json=body, headers=WANG)).status_code == 403
        created = await client.post("/notifications/admin/robots", json=body, headers=ADMIN)
        assert created.status_code == 201
        robot = created.json()
        assert "t0k3n-9876" not in json.dumps(robot) and robot["has_secret"] and "secret" not in robot
        tested = await client.post(f"/notifications/admin/robots/{robot['id']}/test", headers=ADMIN)
        assert tested.json() == {"ok": True, "status_code": 200, "error": None}
        [post] = http.at("/dingtalk/robot/send")
        assert "access_token=t0k3n-9876" in post.query and "timestamp=" in post.query and "sign=" in post.query
        assert post.json()["markdown"]["title"] == "KA 平台机器人测试"


async def test_webhook_secrets_are_shown_once_and_a_test_delivery_is_signed(sqlite_database, http):
    from services.notifications.webhooks.service import verify

    app, _ = await _app_with_world(sqlite_database)
    async with running(app) as client:
        created = await client.post(
            "/notifications/admin/webhooks",
            json={"name": "CRM", "url": f"{http.url}/hooks/crm", "kinds": ["*"]},
            headers=ADMIN,
        )
        assert created.status_code == 201
        secret = created.json()["secret"]
        assert secret.startswith("whsec_") and len(secret) > 30
        listed = (await client.get("/notifications/admin/webhooks", headers=ADMIN)).json()
        assert "secret" not in listed[0]
        assert (
            await client.post(
                "/notifications/admin/webhooks",
                json={"name": "x", "url": "ftp://x/yyyyyy", "kinds": ["*"]},
                headers=ADMIN,
            )
        ).status_code == 422
        result = await client.post(f"/notifications/admin/webhooks/{created.json()['id']}/test", headers=ADMIN)
        assert result.status_code == 200 and result.json()["ok"] is True and result.json()["status_code"] == 204
        [post] = http.at("/hooks/crm")
        timestamp = int(post.headers["x-kam-timestamp"])
        assert verify(secret, timestamp, post.body, post.headers["x-kam-signature"], now=timestamp, tolerance=300)
        assert post.json()["kind"] == "notifications.test" and post.headers["x-kam-event"] == "notifications.test"


async def test_the_delivery_log_filters_shows_attempts_and_counts(sqlite_database, mail):
    app, _ = await _app_with_world(sqlite_database, smtp_port=mail.port)
    async with running(app) as client:
        account_id = await _seed(app)
        breach = sla_event(ComplaintSlaBreached, account_id, at=MORNING, due_at=MORNING)
        await apply(app, breach)

        async def emailed():
            rows = await deliveries(app, channel="email")
            return rows if rows and all(d.status == "delivered" for d in rows) else None

        await wait_until(emailed, message="the breach emailed")
        log = await client.get("/notifications/deliveries", params={"channel": "email"}, headers=WANG)
        assert log.status_code == 200
        assert sorted(d["user_id"] for d in log.json()["items"]) == ["am-li", "sup-wang", "sup-zhao"]
        mine = await client.get(
            "/notifications/deliveries", params={"user_id": "am-li", "kind": breach.type}, headers=ADMIN
        )
        assert sorted(d["channel"] for d in mine.json()["items"]) == ["email", "in_app"]
        assert (
            await client.get("/notifications/deliveries", params={"status": "lost"}, headers=ADMIN)
        ).status_code == 422
        assert (await client.get("/notifications/deliveries", headers=LI)).status_code == 403
        one = next(d for d in mine.json()["items"] if d["channel"] == "email")
        detail = (await client.get(f"/notifications/deliveries/{one['id']}", headers=ADMIN)).json()
        assert detail["subject"].startswith("【SLA超时】")
        assert [a["outcome"] for a in detail["attempt_log"]] == ["delivered"]
        assert detail["attempt_log"][0]["status_code"] == 250
        again = await client.post(f"/notifications/admin/deliveries/{one['id']}/replay", headers=ADMIN)
        assert again.status_code == 409  # only dead deliveries are replayed
        stats = (await client.get("/notifications/deliveries/stats", headers=WANG)).json()
        assert stats["by_channel"]["email"] == {"delivered": 3} and stats["by_channel"]["in_app"] == {"delivered": 3}
        assert (await client.get("/notifications/admin/users", headers=ADMIN)).json()["total"] == 10
        metrics = (await client.get("/metrics", headers=auth("admin"))).text
        assert 'kam_notification_deliveries_total{channel="email",outcome="delivered"} 3.0' in metrics
        assert 'kam_notification_queue{channel="email",status="delivered"} 3.0' in metrics
        assert "kam_notification_delivery_seconds_bucket" in metrics


async def test_every_change_of_who_is_told_and_where_is_audited_without_its_secrets(sqlite_database):
    app, _ = await _app_with_world(sqlite_database)
    async with running(app) as client:
        await _seed(app)
        made = await set_up_team_robot_and_webhook(client, "http://receiver.example")
        rule = {"code": "red-to-ceo", "event_kind": "risk.alert_raised", "recipients": ["role:supervisor"]}
        assert (await client.post("/notifications/rules", json=rule, headers=ADMIN)).status_code == 201
        one = {**ADMIN, "If-Match": '"1"'}
        changes = {
            "/notifications/teams/east-ka": {"name": "华东一组"},
            f"/notifications/admin/robots/{made['robot']['id']}": {"secret": "SEC-robot-rotated-0001"},
            f"/notifications/admin/webhooks/{made['webhook']['id']}": {"secret": "whsec_rotated_" + "r" * 24},
            "/notifications/rules/red-to-ceo": {"channels": ["in_app"]},
        }
        for path, body in changes.items():
            answer = await client.patch(path, json=body, headers=one)
            assert answer.status_code == 200, (path, answer.text)
            assert (await client.delete(path, headers={**ADMIN, "If-Match": '"2"'})).status_code == 204, path
        audit = await client.get("/notifications/audit", params={"limit": 100}, headers=ADMIN)
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    actions = sorted(e["action"] for e in entries)
    assert actions == sorted(
        f"{kind}.{verb}"
        for kind in ("team", "robot", "webhook", "routing_rule")
        for verb in ("created", "updated", "deleted")
    )
    assert {e["actor_id"] for e in entries} == {"u-admin"}
    by = {e["action"]: e for e in entries}
    assert by["team.updated"]["before"] == {"name": "华东KA组"} and by["team.updated"]["after"] == {"name": "华东一组"}
    rotated = by["webhook.updated"]
    assert set(rotated["before"]) == {"secret"} and rotated["before"]["secret"] != rotated["after"]["secret"]
    assert rotated["after"]["secret"].startswith("sha256:")
    assert by["robot.deleted"]["after"] == {"deleted": True} and by["robot.deleted"]["before"]["scope_id"] == "east-ka"
    assert by["routing_rule.updated"]["after"] == {"channels": ["in_app"]}
    for secret in (WEBHOOK_SECRET, "whsec_rotated_", "SEC-robot-rotated", "east-team-key"):
        assert secret not in audit.text, secret  # secrets and robot keys never reach the audit log
