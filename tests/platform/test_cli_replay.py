"""`kam dead-letters replay`: the event runs through the service's own handlers and context, once."""

from __future__ import annotations

import asyncio

from sqlalchemy import insert, select
from typer.testing import CliRunner

from kam.cli import app as cli
from services.goals.app import create_app
from services.goals.config import GoalsSettings
from services.goals.models import RiskAlert, platform
from shared.events import AlertRaised
from shared.events.catalogue import AlertData
from tests.support import running, service_settings


async def test_replay_applies_a_dead_letter_with_the_services_handlers(tmp_path, monkeypatch):
    url = f"sqlite+aiosqlite:///{tmp_path / 'goals.db'}"
    event = AlertRaised(
        source="risk",
        account_id="acc-回放",
        data=AlertData(alert_id="al-1", rule_code="overdue", level="red", signal_type="overdue", title="逾期 overdue"),
    )
    app = create_app(service_settings(GoalsSettings, database_url=url, nats_url=None))
    async with running(app):
        async with app.state.db.transaction() as session:
            await session.execute(
                insert(platform.dead_letters).values(
                    event_id=event.id,
                    event_type=event.type,
                    subject=event.subject,
                    payload=event.model_dump_json(),
                    error="RuntimeError: boom",
                    attempts=5,
                    created_at=event.time,
                    status="pending",
                )
            )
    monkeypatch.setenv("KAM_GOALS_DATABASE_URL", url)
    monkeypatch.setenv("KAM_GOALS_NATS_ENABLED", "false")

    # The CLI runs its own event loop (asyncio.run), so it is invoked from a thread.
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["dead-letters", "replay", "goals", "1"])
    assert result.exit_code == 0, result.output
    assert '"status": "replayed"' in result.output

    again = await asyncio.to_thread(CliRunner().invoke, cli, ["dead-letters", "replay", "goals", "1"])
    assert again.exit_code != 0  # already replayed: refused, not applied twice
    app = create_app(service_settings(GoalsSettings, database_url=url, nats_url=None))
    async with running(app), app.state.db.transaction(write=False) as session:
        alerts = (await session.execute(select(RiskAlert))).scalars().all()
    assert [(a.alert_id, a.title, a.active) for a in alerts] == [("al-1", "逾期 overdue", True)]
