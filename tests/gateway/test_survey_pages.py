"""The customer survey page at the gateway (``/s/{token}``) over HTTP with no credentials: in the contact's language
(and switched), answered once, refused when used or expired, and the same 404 page for unknown and tampered links."""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import uvicorn

from gateway.app import create_app as create_gateway
from shared.clock import FrozenClock
from shared.events import ContactChanged
from shared.nats_server import free_port
from tests.complaints.helpers import LI, MONDAY_9AM_BEIJING, make_app, register_account
from tests.gateway.platform import offline_gateway_settings
from tests.support import running


@contextlib.asynccontextmanager
async def serving(app, port: int) -> AsyncIterator[None]:
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


async def _asked(complaints, service: httpx.AsyncClient, account: str, language: str) -> str:
    contact_id = str(uuid.uuid4())
    data = {"contact_id": contact_id, "name": "陈总", "level": "executive", "language": language}
    await complaints.state.consumer.process(ContactChanged(source="scoring", account_id=account, data=data))
    body = {"account_id": account, "template_code": "relationship", "contact_id": contact_id}
    response = await service.post("/complaints/surveys/requests", json=body, headers=LI)
    assert response.status_code == 201, response.text
    return str(response.json()["link"]["token"])


def _tampered(token: str) -> str:
    return token[:10] + ("a" if token[10] != "a" else "b") + token[11:]


async def test_the_survey_page_needs_no_login_answers_once_and_refuses_what_it_must(tmp_path, sqlite_database):
    clock = FrozenClock(MONDAY_9AM_BEIJING)
    port = free_port()
    complaints = make_app(await sqlite_database("complaints"), clock, survey_schedule_enabled=False)
    settings = offline_gateway_settings(
        tmp_path, complaints_url=f"http://127.0.0.1:{port}", survey_rate_limit_burst=100
    )
    gateway = create_gateway(settings, clock=clock)
    async with serving(complaints, port), running(gateway) as page:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as service:
            account = await register_account(complaints, name="宁德时代新能源科技股份有限公司", tier="strategic")
            english = await _asked(complaints, service, account, "en")
            chinese = await _asked(complaints, service, account, "zh-CN")
            lapsing = await _asked(complaints, service, account, "zh-CN")

            form = await page.get(f"/s/{english}")
            assert form.status_code == 200 and "authorization" not in form.request.headers
            assert "How likely are you to recommend us" in form.text and "KA Platform" in form.text
            assert 'name="viewport"' in form.text and "<script" not in form.text and "http" not in form.text
            assert account not in form.text and "宁德时代" not in form.text
            assert "default-src 'none'" in form.headers["content-security-policy"]
            assert form.headers["cache-control"] == "no-store" and form.headers["referrer-policy"] == "no-referrer"
            switched = await page.get(f"/s/{english}?lang=zh-CN")
            assert "您有多大可能向同行推荐我们" in switched.text and f"/s/{english}?lang=en" in switched.text
            zh = await page.get(f"/s/{chinese}")
            assert zh.status_code == 200 and '<html lang="zh-CN">' in zh.text and "提交" in zh.text

            missing = await page.post(f"/s/{english}", data={"nps": "9"})
            assert missing.status_code == 422 and "Please check the marked questions" in missing.text
            done = await page.post(f"/s/{english}", data={"nps": "9", "csat": "5", "comment": "服务很好"})
            assert done.status_code == 200 and "Thank you for your feedback" in done.text
            twice = await page.post(f"/s/{english}", data={"nps": "1", "csat": "1"})
            assert twice.status_code == 410 and "already been answered" in twice.text
            assert (await page.get(f"/s/{english}")).status_code == 410
            answers = (
                await service.get(f"/complaints/surveys/requests?account_id={account}&state=answered", headers=LI)
            ).json()
            assert answers["total"] == 1

            clock.advance(timedelta(days=15))
            expired = await page.get(f"/s/{lapsing}")
            assert expired.status_code == 410 and "此调研链接已过期" in expired.text
            assert (await page.post(f"/s/{lapsing}", data={"nps": "9", "csat": "5"})).status_code == 410

            unknown = await page.get("/s/" + "Q" * 43)
            tampered = await page.get(f"/s/{_tampered(chinese)}")
            malformed = await page.get("/s/not-a-token")
    assert unknown.status_code == tampered.status_code == malformed.status_code == 404
    assert unknown.content == tampered.content == malformed.content
    assert "找不到此调研" in unknown.text and not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", unknown.text)


async def test_the_survey_page_is_rate_limited_per_client(tmp_path):
    gateway = create_gateway(
        offline_gateway_settings(tmp_path, survey_rate_limit_burst=3, survey_rate_limit_per_minute=1)
    )
    async with running(gateway) as page:
        first = [await page.get("/s/not-a-token") for _ in range(3)]
        refused = await page.get("/s/not-a-token")
    assert [r.status_code for r in first] == [404, 404, 404]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.headers["cache-control"] == "no-store"
