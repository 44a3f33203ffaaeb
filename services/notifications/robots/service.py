"""Group robots: kept by admins; their message formats and signing schemes (pure), and posting to them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlsplit

import httpx
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.audit import AuditedKind, fingerprint
from services.notifications.delivery.schemas import SendOutcome
from services.notifications.memo import remembered, robots_key
from services.notifications.robots.models import RobotChannel
from services.notifications.robots.schemas import RobotCreate, RobotRead, RobotUpdate
from services.notifications.templates.schemas import OPEN_LABEL, Rendered
from services.notifications.templates.service import markdown
from shared.auth import Principal
from shared.errors import NotFound

ANY_KIND = "*"
WECOM_MARKDOWN_MAX_BYTES = 4096  # WeCom refuses longer markdown content


# ---------------------------------------------------------------- formats and signatures (pure)


def _clip(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode("utf-8", errors="ignore") + "…"


def wecom_body(message: Rendered, mentions: Sequence[str]) -> dict[str, Any]:
    """WeCom group robot markdown (企业微信群机器人): ``<@userid>`` mentions, a warning colour when critical."""
    content = markdown(message, mentions=" ".join(f"<@{m}>" for m in mentions))
    if message.critical:
        content = content.replace(f"**{message.subject}**", f'<font color="warning">**{message.subject}**</font>', 1)
    return {"msgtype": "markdown", "markdown": {"content": _clip(content, WECOM_MARKDOWN_MAX_BYTES)}}


def dingtalk_body(message: Rendered, mentions: Sequence[str]) -> dict[str, Any]:
    """DingTalk custom robot markdown (钉钉自定义机器人): the mentioned user ids are also named in the text."""
    text = markdown(message, mentions=" ".join(f"@{m}" for m in mentions))
    return {
        "msgtype": "markdown",
        "markdown": {"title": message.subject, "text": text},
        "at": {"atUserIds": list(mentions), "isAtAll": False},
    }


def feishu_body(message: Rendered, mentions: Sequence[str]) -> dict[str, Any]:
    """Feishu custom bot interactive card (飞书自定义机器人): header, lark_md body with ``<at>`` tags, a button."""
    text = message.body + ("\n" + " ".join(f"<at id={m}></at>" for m in mentions) if mentions else "")
    return {
        "msg_type": "interactive",
        "card": {
            "config": {"wide_screen_mode": True},
            "header": {
                "title": {"tag": "plain_text", "content": message.subject},
                "template": "red" if message.critical else "blue",
            },
            "elements": [
                {"tag": "div", "text": {"tag": "lark_md", "content": text}},
                {
                    "tag": "action",
                    "actions": [
                        {
                            "tag": "button",
                            "text": {"tag": "plain_text", "content": OPEN_LABEL[message.language]},
                            "url": message.link,
                            "type": "danger" if message.critical else "primary",
                        }
                    ],
                },
            ],
        },
    }


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk 加签: base64(HMAC-SHA256(key=secret, "{timestamp}\\n{secret}")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_signed_url(url: str, secret: str, timestamp_ms: int) -> str:
    """The robot's address with ``timestamp`` (ms) and ``sign`` appended."""
    joiner = "&" if urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def feishu_sign(secret: str, timestamp: int) -> str:
    """Feishu 签名校验: base64(HMAC-SHA256(key="{timestamp}\\n{secret}", empty message)); timestamp in seconds."""
    digest = hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def robot_request(robot: RobotChannel, message: Rendered, mentions: Sequence[str], now: datetime) -> tuple[str, bytes]:
    """The URL and JSON body to post for ``robot`` (signed when it has a secret)."""
    url = robot.webhook_url
    if robot.provider == "wecom":
        body = wecom_body(message, mentions)
    elif robot.provider == "dingtalk":
        body = dingtalk_body(message, mentions)
        if robot.secret:
            url = dingtalk_signed_url(url, robot.secret, int(now.timestamp() * 1000))
    else:
        body = feishu_body(message, mentions)
        if robot.secret:
            timestamp = int(now.timestamp())
            body = {"timestamp": str(timestamp), "sign": feishu_sign(robot.secret, timestamp), **body}
    return url, json.dumps(body, ensure_ascii=False).encode("utf-8")


def robot_outcome(status_code: int, payload: Any) -> SendOutcome:
    """Robots answer HTTP 200 with an error code inside: ``errcode`` (WeCom, DingTalk) or ``code`` (Feishu)."""
    if status_code >= 300:
        return SendOutcome(ok=False, status_code=status_code, error=f"HTTP {status_code}")
    if not isinstance(payload, dict):
        return SendOutcome(ok=False, status_code=status_code, error="the robot answered without a JSON object")
    code = payload.get("errcode", payload.get("code", payload.get("StatusCode", 0)))
    if code not in (0, "0"):
        detail = payload.get("errmsg") or payload.get("msg") or payload.get("StatusMessage") or ""
        return SendOutcome(ok=False, status_code=status_code, error=f"robot error {code}: {detail}"[:500])
    return SendOutcome(ok=True, status_code=status_code)


async def post_robot(
    client: httpx.AsyncClient, *, robot: RobotChannel, message: Rendered, mentions: Sequence[str], now: datetime
) -> SendOutcome:
    """Post one message to a robot."""
    url, body = robot_request(robot, message, mentions, now)
    try:
        response = await client.post(url, content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as exc:
        return SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    try:
        payload = response.json()
    except ValueError:
        payload = None
    return robot_outcome(response.status_code, payload)


# ---------------------------------------------------------------- robots as data


def masked_url(url: str) -> str:
    """The address without its key: scheme, host and path, the query's values hidden but their last 4 characters."""
    parts = urlsplit(url)
    query = "&".join(
        f"{key}=…{value[-4:]}" for key, _, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    path = parts.path if len(parts.path) < 40 else parts.path[:30] + "…" + parts.path[-4:]
    return f"{parts.scheme}://{parts.netloc}{path}" + (f"?{query}" if query else "")


def read_robot(robot: RobotChannel) -> RobotRead:
    """A robot as the API shows it."""
    return RobotRead(
        id=robot.id,
        name=robot.name,
        provider=robot.provider,
        webhook_url=masked_url(robot.webhook_url),
        has_secret=bool(robot.secret),
        scope=robot.scope,
        scope_id=robot.scope_id,
        kinds=list(robot.kinds),
        language=robot.language,
        enabled=robot.enabled,
        version=robot.version,
        created_at=robot.created_at,
        updated_at=robot.updated_at,
    )


async def list_robots(session: AsyncSession) -> list[RobotChannel]:
    """Every robot, by name."""
    return list((await session.execute(select(RobotChannel).order_by(RobotChannel.name))).scalars())


async def get_robot(session: AsyncSession, robot_id: str) -> RobotChannel:
    """A robot, or 404."""
    robot = await session.get(RobotChannel, robot_id)
    if robot is None:
        raise NotFound(f"Robot {robot_id} not found")
    return robot


def _audited(robot: RobotChannel) -> dict[str, Any]:
    """What an audit entry keeps of a robot (its address masked, its secret as a fingerprint)."""
    return {
        "name": robot.name,
        "provider": robot.provider,
        "webhook_url": masked_url(robot.webhook_url),
        "secret": fingerprint(robot.secret),
        "scope": robot.scope,
        "scope_id": robot.scope_id,
        "kinds": list(robot.kinds),
        "language": robot.language,
        "enabled": robot.enabled,
    }


ROBOT_AUDIT = AuditedKind[RobotChannel]("robot", lambda robot: robot.id, _audited)


async def create_robot(session: AsyncSession, *, body: RobotCreate, actor: Principal, now: datetime) -> RobotChannel:
    """A new robot (audited)."""
    robot = RobotChannel(id=str(uuid.uuid4()), **body.model_dump(), version=1, created_at=now, updated_at=now)
    session.add(robot)
    await session.flush()
    await ROBOT_AUDIT.created(session, robot, actor=actor, now=now)
    return robot


async def update_robot(
    session: AsyncSession, *, robot: RobotChannel, body: RobotUpdate, actor: Principal, now: datetime
) -> RobotChannel:
    """Change a robot (a new key or secret replaces the old one; audited)."""
    before = ROBOT_AUDIT.state(robot)
    for name, value in body.model_dump(exclude_unset=True, exclude_none=True).items():
        setattr(robot, name, value)
    robot.version += 1
    robot.updated_at = now
    await session.flush()
    await ROBOT_AUDIT.updated(session, robot, before=before, actor=actor, now=now)
    return robot


async def delete_robot(session: AsyncSession, *, robot: RobotChannel, actor: Principal, now: datetime) -> None:
    """Remove a robot (deliveries already queued for it fail and are dead-lettered; audited)."""
    await ROBOT_AUDIT.deleted(session, robot, actor=actor, now=now)
    await session.delete(robot)
    await session.flush()


async def robots_for(
    session: AsyncSession, *, account_id: str | None, team_codes: Sequence[str], kind: str
) -> list[RobotChannel]:
    """The enabled robots of an account, of its owner's teams and company-wide that post this kind."""
    scopes = [RobotChannel.scope == "all"]
    if account_id:
        scopes.append((RobotChannel.scope == "account") & (RobotChannel.scope_id == account_id))
    if team_codes:
        scopes.append((RobotChannel.scope == "team") & RobotChannel.scope_id.in_(list(team_codes)))
    query = select(RobotChannel).where(RobotChannel.enabled.is_(True), or_(*scopes)).order_by(RobotChannel.id)

    async def load() -> list[RobotChannel]:
        return list((await session.execute(query)).scalars())

    robots = await remembered(session, robots_key(account_id, tuple(team_codes)), load)
    return [robot for robot in robots if ANY_KIND in robot.kinds or kind in robot.kinds]


async def send_test_message(
    client: httpx.AsyncClient, *, robot: RobotChannel, console_base_url: str, now: datetime
) -> SendOutcome:
    """Post a test message to the robot at once (not queued), signed as real ones are."""
    zh = robot.language == "zh-CN"
    message = Rendered(
        language=robot.language,
        subject="KA 平台机器人测试" if zh else "KA Platform robot test",
        body="这条消息确认机器人已接入 KA 平台通知。" if zh else "This message confirms the robot is connected.",
        link=console_base_url.rstrip("/") + "/inbox",
        due="",
        critical=False,
    )
    return await post_robot(client, robot=robot, message=message, mentions=[], now=now)
