"""Fixtures of the notifications tests: a real SMTP server and a real HTTP receiver, each on a free port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.notifications.helpers import MailSink, Receiver


@pytest.fixture
async def mail() -> AsyncIterator[MailSink]:
    """An SMTP server (aiosmtpd) collecting what it is sent."""
    sink = await MailSink().start()
    try:
        yield sink
    finally:
        await sink.stop()


@pytest.fixture
async def http() -> AsyncIterator[Receiver]:
    """An HTTP server recording webhook and robot posts (answers as each robot does unless told otherwise)."""
    server = await Receiver().start()
    try:
        yield server
    finally:
        await server.stop()
