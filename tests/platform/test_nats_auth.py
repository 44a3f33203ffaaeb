"""NATS authentication: the embedded server (as `kam up` runs it) refuses clients without its credentials, a service
given them in its settings connects and publishes, and `kam up`'s generated secrets are owner-only files in the var
directory, reused on the next start; production refuses a NATS connection without credentials."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
import yaml
from pydantic import ValidationError

from kam.local_secrets import use_local_jwt_secret, use_local_nats_credentials
from kam.registry import APPS, ROOT
from services.scoring.app import create_app
from services.scoring.config import ScoringSettings
from shared.events.catalogue import STREAMS
from shared.nats_server import NatsServer
from tests.support import running, service_settings, wait_until


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def var(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def secured(var: Path) -> Iterator[NatsServer]:
    """The embedded server with `kam up`'s generated credentials."""
    credentials = use_local_nats_credentials(var, {})
    server = NatsServer(var / "nats", user=credentials.user, password=credentials.password).start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_client_without_the_credentials_is_refused(secured: NatsServer):
    for credentials in [{}, {"user": "kam", "password": "not-the-password"}, {"user": "intruder", "password": "x"}]:
        with pytest.raises(nats.errors.Error, match="Authorization"):
            await nats.connect(
                secured.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2, **credentials
            )


async def test_a_service_with_the_credentials_in_its_settings_connects_and_publishes(secured: NatsServer, tmp_path):
    settings = service_settings(
        ScoringSettings,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'scoring.db'}",
        nats_url=secured.url,
        nats_user=secured.user,
        nats_password=secured.password,
    )
    assert secured.password is not None and secured.password not in repr(settings), "never printed"
    app = create_app(settings)
    async with running(app):
        bus = app.state.bus
        assert await bus.wait_connected(timeout=10)
        await bus.ensure_streams(["accounts"])
        await bus.publish("kam.accounts.probe", b"{}", msg_id="auth-probe-1")
        assert bus.js is not None

        async def stored() -> int:
            return int((await bus.js.stream_info(STREAMS["accounts"])).state.messages)

        assert await wait_until(stored, message="the event in the stream") == 1


def test_the_generated_secrets_are_owner_only_files_reused_on_the_next_start_and_the_environment_wins(var: Path):
    first: dict[str, str] = {}
    use_local_jwt_secret(var, first)
    credentials = use_local_nats_credentials(var, first)
    files = [var / "secrets" / "jwt_secret", var / "secrets" / "nats_password"]
    assert [_mode(path) for path in files] == [0o600, 0o600] and _mode(var / "secrets") == 0o700
    assert first["KAM_JWT_SECRET"] == files[0].read_text().strip() and len(first["KAM_JWT_SECRET"]) >= 48
    assert first["KAM_NATS_USER"] == credentials.user == "kam"
    assert first["KAM_NATS_PASSWORD"] == credentials.password == files[1].read_text().strip()

    again: dict[str, str] = {}
    use_local_jwt_secret(var, again)
    use_local_nats_credentials(var, again)
    assert again == first, "the same secrets on every start"

    given = {"KAM_JWT_SECRET": "from-the-environment-" + "z" * 32, "KAM_NATS_PASSWORD": "given-password"}
    use_local_jwt_secret(var, given)
    use_local_nats_credentials(var, given)
    assert given["KAM_JWT_SECRET"].startswith("from-the-environment-")
    assert given["KAM_NATS_PASSWORD"] == "given-password"


def test_the_embedded_servers_configuration_file_is_owner_only(secured: NatsServer, var: Path):
    config = var / "nats.conf"
    assert _mode(config) == 0o600 and secured.password is not None and secured.password in config.read_text()


@pytest.mark.parametrize(
    ("connection", "accepted"),
    [
        ({"nats_url": "nats://nats:4222"}, False),
        ({"nats_url": "nats://kam:secret-pw@nats:4222"}, True),
        ({"nats_url": "nats://nats:4222", "nats_user": "kam", "nats_password": "secret-pw"}, True),
        ({"nats_url": "nats://nats:4222", "nats_enabled": False}, True),
    ],
)
def test_production_refuses_a_nats_connection_without_credentials(connection: dict[str, object], accepted: bool):
    values = {"environment": "production", "jwt_secret": "p" * 40, **connection}
    if accepted:
        ScoringSettings(**values)
    else:
        with pytest.raises(ValidationError, match="nats_password"):
            ScoringSettings(**values)


def test_the_compose_nats_demands_credentials_from_the_environment_and_every_app_presents_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    nats_spec = compose["services"]["nats"]
    assert nats_spec["command"] == ["-c", "/etc/nats/nats.conf"]
    assert "./deploy/nats/nats.conf:/etc/nats/nats.conf:ro" in nats_spec["volumes"]
    assert "password: $NATS_PASSWORD" in (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert nats_spec["environment"]["NATS_PASSWORD"].startswith("${NATS_PASSWORD:?")
    for name, info in APPS.items():
        url = compose["services"][name]["environment"][f"{info.env_prefix}NATS_URL"]
        assert url.startswith("nats://${NATS_USER:-kam}:${NATS_PASSWORD:?") and url.endswith("@nats:4222"), name
