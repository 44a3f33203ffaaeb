"""Every link the notifications service builds has a console page: derived from the notifications kinds table
(``FACTS``, one sample event per consumed kind), matched against the gateway's own routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from gateway.app import create_app
from gateway.console.screens import console_link
from services.notifications.kinds.service import FACTS, facts_of
from services.notifications.templates.service import render_digest
from shared.events import EventBase, SurveyAnswered
from tests.gateway.platform import offline_gateway_settings
from tests.notifications.test_templates import SAMPLES
from tests.support import running


def _variants() -> list[EventBase]:
    """One event per consumed kind, and each branch of a kind whose link depends on its data."""
    events: list[EventBase] = list(SAMPLES)
    for event in SAMPLES:
        if isinstance(event, SurveyAnswered):  # no follow-up (a good score): the link is the account
            events.append(event.model_copy(update={"data": event.data.model_copy(update={"follow_up_id": None})}))
    return events


# The digest (and the robots' test message) link the inbox.
DIGEST_LINK = urlsplit(render_digest([], language="zh", console_base_url="/console").link).path.removeprefix("/console")
LINKS = sorted({facts_of(event).link_path for event in _variants()})


def test_the_samples_cover_every_kind_notifications_consumes() -> None:
    assert {type(event) for event in SAMPLES} == set(FACTS)
    families = {facts.__name__ for facts in FACTS.values()}
    assert len(LINKS) >= len(families) - 4  # the five complaint families share the complaint's link


@pytest.fixture
async def gateway_client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(offline_gateway_settings(tmp_path))
    async with running(app) as client:
        yield client


async def test_a_path_without_a_console_page_is_not_found(gateway_client: httpx.AsyncClient) -> None:
    assert (await gateway_client.get("/console/risk/no-such-kind/x-1")).status_code == 404


@pytest.mark.parametrize("link", [*LINKS, DIGEST_LINK])
async def test_every_notification_link_has_a_console_page(gateway_client: httpx.AsyncClient, link: str) -> None:
    # Without a session a console page sends the browser to log in and come back; a path without one is a 404.
    response = await gateway_client.get("/console" + link)
    assert response.status_code == 303, f"no console page for {link}"
    assert response.headers["location"] == "/console/login?next=" + quote("/console" + link, safe="/")


@pytest.mark.parametrize("link", LINKS)
def test_the_inbox_follows_the_notifications_own_link(link: str) -> None:
    item = {"link": "https://ka.example.cn/console" + link, "object_type": "x", "account_id": "a-1"}
    assert console_link(item) == "/console" + link
