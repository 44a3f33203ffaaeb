"""Pure rules: back-off with jitter, quiet hours and the digest time, email timing, the delivery state machine,
rule matching, webhook signatures, and the WeCom / DingTalk / Feishu formats and signing schemes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import uuid
from datetime import UTC, datetime, time
from types import SimpleNamespace
from urllib.parse import parse_qs, quote_plus, urlsplit

import pytest

from services.notifications.delivery.schemas import DELIVERY_TRANSITIONS
from services.notifications.delivery.service import move, retry_delay
from services.notifications.kinds.schemas import Facts
from services.notifications.preferences.schemas import Effective
from services.notifications.preferences.service import in_quiet_hours, next_digest_at, plan_email
from services.notifications.robots.service import (
    dingtalk_body,
    dingtalk_signed_url,
    feishu_body,
    feishu_sign,
    masked_url,
    robot_outcome,
    robot_request,
    wecom_body,
)
from services.notifications.routing.service import rule_matches
from services.notifications.templates.schemas import Rendered
from services.notifications.webhooks.service import encode_body, retry_after_seconds, sign, signed_headers, verify
from shared.clock import business_zone
from shared.errors import InvalidTransition

ZONE = business_zone("Asia/Shanghai")
SHANGHAI = business_zone("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    """An instant given as Shanghai wall time on March ``day``, 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


# ---------------------------------------------------------------- back-off


def test_back_off_doubles_up_to_the_cap_and_jitter_only_shortens():
    rng = random.Random(7)
    plain = [retry_delay(n, base=5, cap=60, jitter=0, rng=rng) for n in range(1, 7)]
    assert plain == [5, 10, 20, 40, 60, 60]
    jittered = [retry_delay(3, base=5, cap=60, jitter=0.5, rng=rng) for _ in range(200)]
    assert all(10 <= d <= 20 for d in jittered) and len({round(d, 6) for d in jittered}) > 150
    assert retry_delay(1, base=5, cap=60, jitter=0.5, rng=rng, retry_after=30) == 30  # the receiver's Retry-After
    assert retry_delay(1, base=5, cap=60, jitter=0.5, rng=rng, retry_after=9999) == 60  # … within the cap


def test_retry_after_is_read_as_seconds_or_an_http_date():
    now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Mon, 02 Mar 2026 02:01:30 GMT", now) == 90
    assert retry_after_seconds("soon", now) is None and retry_after_seconds(None, now) is None


# ---------------------------------------------------------------- quiet hours, digest, email timing


def test_quiet_hours_may_span_midnight_and_are_local_to_the_company_zone():
    night = (time(22), time(8))
    assert in_quiet_hours(at(23), ZONE, *night) and in_quiet_hours(at(7, 59), ZONE, *night)
    assert not in_quiet_hours(at(8), ZONE, *night) and not in_quiet_hours(at(21, 59), ZONE, *night)
    lunch = (time(12), time(13, 30))
    assert in_quiet_hours(at(12, 45), ZONE, *lunch) and not in_quiet_hours(at(13, 30), ZONE, *lunch)
    assert not in_quiet_hours(at(23), ZONE, None, None)


def test_the_next_digest_is_the_digest_time_moved_past_quiet_hours():
    prefs = Effective(language="zh-CN", digest_time=time(8, 30), quiet_start=time(22), quiet_end=time(8))
    assert next_digest_at(at(23), ZONE, prefs) == at(8, 30, day=3)
    assert next_digest_at(at(7), ZONE, prefs) == at(8, 30)  # the same morning
    late_riser = Effective(language="zh-CN", digest_time=time(8, 30), quiet_start=time(22), quiet_end=time(9))
    assert next_digest_at(at(23), ZONE, late_riser) == at(9, day=3)  # the digest does not wake anyone either


def test_email_goes_now_waits_for_the_digest_or_not_at_all():
    night = Effective(language="zh-CN", digest_time=time(8, 30), quiet_start=time(22), quiet_end=time(8))
    common = {"kind": "complaints.sla_warning", "prefs": night, "zone": ZONE}
    assert plan_email(critical=False, rule_wants_email=True, now=at(10), **common).held_until is None
    held = plan_email(critical=False, rule_wants_email=True, now=at(23), **common)
    assert held.wanted and held.held_until == at(8, 30, day=3)
    breach = plan_email(critical=True, rule_wants_email=True, now=at(23), **common)
    assert breach.wanted and breach.held_until is None  # critical passes quiet hours
    assert not plan_email(critical=False, rule_wants_email=False, now=at(10), **common).wanted
    digest_only = Effective(language="en", digest_time=time(8, 30), channels={"*": ["in_app", "digest"]})
    common = {"kind": "goals.target_at_risk", "prefs": digest_only, "zone": ZONE}
    assert plan_email(critical=False, rule_wants_email=True, now=at(10), **common).held_until == at(8, 30, day=3)
    assert plan_email(critical=True, rule_wants_email=True, now=at(10), **common).held_until is None
    no_mail = Effective(language="en", digest_time=time(8, 30), channels={"goals.target_at_risk": ["in_app"]})
    assert not plan_email(critical=True, rule_wants_email=True, now=at(10), **{**common, "prefs": no_mail}).wanted
    opted_in = Effective(language="en", digest_time=time(8, 30), channels={"goals.target_at_risk": ["email"]})
    assert plan_email(critical=False, rule_wants_email=False, now=at(10), **{**common, "prefs": opted_in}).wanted


# ---------------------------------------------------------------- the delivery state machine


def test_the_delivery_state_machine_is_this_table():
    assert DELIVERY_TRANSITIONS == {
        "pending": frozenset({"sending"}),
        "retrying": frozenset({"sending"}),
        "sending": frozenset({"delivered", "retrying", "dead", "sending"}),
        "held": frozenset({"digested"}),
        "dead": frozenset({"pending"}),
        "delivered": frozenset(),
        "digested": frozenset(),
        "skipped": frozenset(),
    }
    delivered = SimpleNamespace(status="delivered")
    with pytest.raises(InvalidTransition):
        move(delivered, "pending")  # type: ignore[arg-type]
    dead = SimpleNamespace(status="dead")
    move(dead, "pending")  # type: ignore[arg-type]
    assert dead.status == "pending"


# ---------------------------------------------------------------- rule matching


def _facts(**kw) -> Facts:
    base = {
        "kind": "risk.alert_raised",
        "event_id": "e",
        "occurred_at": datetime.now(UTC),
        "account_id": "a",
        "object_type": "alert",
        "object_id": "x",
        "link_path": "/risk/alerts/x",
    }
    return Facts(**{**base, **kw})


def _rule(**kw) -> SimpleNamespace:
    return SimpleNamespace(**{"enabled": True, "event_kind": "risk.alert_raised", "tiers": [], "levels": [], **kw})


def test_a_rule_matches_kind_then_tier_then_level_and_empty_lists_match_everything():
    red_strategic = _facts(level="red", tier="strategic")
    assert rule_matches(_rule(), red_strategic)
    assert rule_matches(_rule(event_kind="*"), red_strategic)
    assert not rule_matches(_rule(event_kind="risk.alert_cleared"), red_strategic)
    assert rule_matches(_rule(tiers=["strategic", "key"], levels=["red"]), red_strategic)
    assert not rule_matches(_rule(levels=["red"]), _facts(level="yellow", tier="strategic"))
    assert not rule_matches(_rule(tiers=["key"]), _facts(level="red", tier=None))
    assert not rule_matches(_rule(enabled=False), red_strategic)


# ---------------------------------------------------------------- webhook signatures


def test_a_webhook_signature_covers_timestamp_and_body_and_receivers_can_verify_it():
    body = encode_body({"subject": "【SLA超时】华东精密", "n": 1})
    assert "华东精密".encode() in body  # UTF-8, not \\u escapes
    headers = signed_headers(
        secret="s3cret-s3cret-s3cret",
        body=body,
        delivery_id="d-1",
        kind="k",
        now=datetime.fromtimestamp(1772416800, UTC),
    )
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1772416800." + body, hashlib.sha256).hexdigest()
    assert headers["X-KAM-Signature"] == f"sha256={expected}" == sign("s3cret-s3cret-s3cret", 1772416800, body)
    assert headers["X-KAM-Timestamp"] == "1772416800" and headers["X-KAM-Delivery"] == "d-1"
    assert verify("s3cret-s3cret-s3cret", 1772416800, body, headers["X-KAM-Signature"], now=1772416900, tolerance=300)
    assert not verify(
        "s3cret-s3cret-s3cret", 1772416800, body + b" ", headers["X-KAM-Signature"], now=1772416900, tolerance=300
    )
    assert not verify(
        "s3cret-s3cret-s3cret", 1772416800, body, headers["X-KAM-Signature"], now=1772417201, tolerance=300
    )


# ---------------------------------------------------------------- robots

MESSAGE = Rendered(
    "zh-CN", "【SLA超时】华东精密：投诉已超时", "客户 华东精密 的投诉已超时。", "https://ka/console/c/1", "", True
)


def test_wecom_markdown_mentions_by_userid_and_marks_critical():
    body = wecom_body(MESSAGE, ["LiLei", "WangFang"])
    content = body["markdown"]["content"]
    assert body["msgtype"] == "markdown"
    assert content.startswith('<font color="warning">**【SLA超时】')
    assert "[查看详情](https://ka/console/c/1)" in content and content.endswith("<@LiLei> <@WangFang>")
    long = Rendered("zh-CN", "标题", "很长" * 3000, "https://ka/x", "", False)
    assert len(wecom_body(long, [])["markdown"]["content"].encode()) <= 4096


def test_dingtalk_markdown_and_its_signed_url():
    body = dingtalk_body(MESSAGE, ["ding-li"])
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == MESSAGE.subject
    assert body["at"] == {"atUserIds": ["ding-li"], "isAtAll": False} and "@ding-li" in body["markdown"]["text"]
    secret, timestamp = "SEC0123456789abcdef", 1772416800000
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=abc", secret, timestamp)
    query = parse_qs(urlsplit(url).query)
    # DingTalk's documented recipe, done here independently.
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    assert query["access_token"] == ["abc"] and query["timestamp"] == [str(timestamp)]
    assert query["sign"] == [base64.b64encode(digest).decode()]
    assert f"sign={quote_plus(base64.b64encode(digest).decode())}" in url


def test_feishu_interactive_card_and_its_signature_in_the_body():
    card = feishu_body(MESSAGE, ["ou_wang"])
    assert card["msg_type"] == "interactive" and card["card"]["header"]["template"] == "red"
    assert card["card"]["header"]["title"]["content"] == MESSAGE.subject
    assert "<at id=ou_wang></at>" in card["card"]["elements"][0]["text"]["content"]
    assert card["card"]["elements"][1]["actions"][0]["url"] == MESSAGE.link
    secret, timestamp = "feishu-secret", 1772416800
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    assert feishu_sign(secret, timestamp) == base64.b64encode(digest).decode()
    robot = SimpleNamespace(
        provider="feishu", webhook_url="https://open.feishu.cn/open-apis/bot/v2/hook/t", secret=secret
    )
    url, raw = robot_request(robot, MESSAGE, [], datetime.fromtimestamp(timestamp, UTC))  # type: ignore[arg-type]
    signed = json.loads(raw)
    assert url == robot.webhook_url
    assert signed["timestamp"] == str(timestamp) and signed["sign"] == feishu_sign(secret, timestamp)


def test_a_robot_that_answers_200_with_an_error_code_has_failed():
    assert robot_outcome(200, {"errcode": 0, "errmsg": "ok"}).ok
    assert robot_outcome(200, {"code": 0, "msg": "success"}).ok
    refused = robot_outcome(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    assert not refused.ok and "45009" in (refused.error or "")
    assert not robot_outcome(200, {"code": 19021, "msg": "sign match fail"}).ok
    assert not robot_outcome(502, None).ok and not robot_outcome(200, "not json").ok


def test_robot_addresses_are_shown_without_their_keys():
    key = uuid.uuid4().hex
    masked = masked_url(f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={key}")
    assert key not in masked and masked.endswith(key[-4:])
    assert masked.startswith("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…")
