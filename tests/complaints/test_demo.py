"""The demo loader fills every state of the closed loop, with breaches and low-satisfaction reopens."""

from __future__ import annotations

from kam.demo import DemoContext
from kam.demo import complaints as demo
from services.complaints.intake.states import STATES
from shared.clock import SystemClock
from tests.complaints.helpers import make_app, register_account
from tests.support import auth, running


async def test_demo_loads_complaints_in_every_state_some_breached_some_low_satisfaction(sqlite_database):
    app = make_app(await sqlite_database("complaints"), SystemClock())
    # The loader sends If-Match itself: no re-read by the test client.
    async with running(app, headers=auth("admin", user_id="demo-loader"), reads_etag_first=False) as client:
        accounts = [
            {"id": await register_account(app, name="宁德时代", tier="strategic"), "name": "宁德时代"},
            {"id": await register_account(app, name="美的集团", owner_id="am-zhang", tier="key"), "name": "美的集团"},
        ]
        ctx = DemoContext(clients={"complaints": client}, shared={"accounts": accounts})
        summary = await demo.load(ctx)
        again = await demo.load(ctx)
        listed = (await client.get("/complaints", params={"limit": 100})).json()["items"]
    assert summary["complaints"] == len(demo.SCENARIOS)
    assert {c["state"] for c in listed} == set(STATES)
    assert summary["breached_open"] >= 1  # still unanswered past its due time
    assert sum(1 for c in listed if c["first_response_breached_at"] is not None) >= 2
    assert any(c["reopen_count"] >= 2 and c["escalation_level"] >= 1 for c in listed)
    assert any(c["satisfaction"] is not None and c["satisfaction"] <= 2 for c in listed)
    assert any(c["paused"] for c in listed)
    assert again["skipped"] == "already loaded"
