"""The production NATS cluster as deploy/compose.production.yml starts it (its commands and deploy/nats/nats.conf,
on local ports): the three nodes form a JetStream cluster, refuse clients without credentials, and the platform's
streams are created there with the configured replicas."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
import yaml

from gateway.app import create_app
from gateway.config import GatewaySettings
from kam.registry import ROOT
from shared.bus.nats import NatsBus
from shared.events.catalogue import STREAMS
from shared.nats_server import free_port, nats_server_binary, wait_for_port
from tests.support import running, service_settings, wait_until

COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.production.yml").read_text())
NODES = ("nats-1", "nats-2", "nats-3")
USER, PASSWORD = "kam", "cluster-test-password"


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[str]:
    """The three nodes with their compose commands, host names and ports mapped to free local ports."""
    client = {node: free_port() for node in NODES}
    routes = {node: free_port() for node in NODES}
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for node in NODES:
            store = tmp_path / node
            config = tmp_path / f"{node}.conf"
            config.write_text(conf.replace("store_dir: /data", f'store_dir: "{store}"'))
            command = [
                re.sub(r"nats-(\d):6222", lambda m: f"127.0.0.1:{routes[f'nats-{m.group(1)}']}", arg)
                for arg in COMPOSE["services"][node]["command"]
            ]
            command[command.index("-c") + 1] = str(config)
            command[command.index("--cluster") + 1] = f"nats://127.0.0.1:{routes[node]}"
            argv = [nats_server_binary(), *command, "-a", "127.0.0.1", "-p", str(client[node]), "-m", "0"]
            env = {"NATS_USER": USER, "NATS_PASSWORD": PASSWORD}
            processes.append(subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for port in client.values():
            wait_for_port(port)
        yield f"127.0.0.1:{client['nats-1']}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)


async def test_the_compose_cluster_forms_refuses_anonymous_clients_and_holds_streams_with_three_replicas(
    cluster: str, tmp_path: Path
):
    with pytest.raises(nats.errors.Error, match="Authorization"):
        await nats.connect(f"nats://{cluster}", allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=2)
    replicas = int(COMPOSE["x-platform-env"]["KAM_NATS_STREAM_REPLICAS"])
    bus = NatsBus(f"nats://{USER}:{PASSWORD}@{cluster}", name="cluster-test", stream_replicas=replicas)
    await bus.start()
    try:
        assert await bus.wait_connected(timeout=10)

        async def created() -> bool:  # the cluster elects its JetStream leader first
            try:
                await bus.ensure_streams(["accounts"])
            except Exception:
                return False
            return True

        await wait_until(created, timeout=30, message="the cluster to accept a replicated stream")
        assert bus.js is not None
        info = await bus.js.stream_info(STREAMS["accounts"])
        assert info.config.num_replicas == replicas == 3
        assert info.cluster is not None and info.cluster.name == "kam"
        assert {info.cluster.leader, *(peer.name for peer in info.cluster.replicas or [])} == set(NODES)
        await bus.publish("kam.accounts.registered", b"{}", msg_id="cluster-test-1")
        assert (await bus.js.stream_info(STREAMS["accounts"])).state.messages == 1

        # An app creates its streams with the replicas its settings say (the gateway publishes identity events).
        settings = service_settings(
            GatewaySettings,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
            nats_url=f"nats://{USER}:{PASSWORD}@{cluster}",
            nats_stream_replicas=replicas,
        )
        async with running(create_app(settings)):
            js = bus.js

            async def identity_replicas() -> int:
                try:
                    return int((await js.stream_info(STREAMS["identity"])).config.num_replicas or 0)
                except (nats.js.errors.NotFoundError, nats.errors.TimeoutError):
                    return 0  # not created yet, or the cluster still placing it (its API answers late under load)

            assert await wait_until(identity_replicas, timeout=30, message="the gateway's stream") == 3
    finally:
        await bus.close()
