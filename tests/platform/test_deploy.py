"""Deployment artefacts agree with the code: docker-compose names every app, a database each, real settings; the
production cluster (deploy/compose.production.yml) runs NATS thrice, every app twice, a proxy in front."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from kam.registry import APPS, ROOT, SERVICES
from shared.settings import PLATFORM_WIDE, required_in_production

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_runs_every_app_postgres_and_nats_with_health_checks():
    services = COMPOSE["services"]
    assert {"postgres", "nats", *APPS} <= set(services)
    for name in APPS:
        spec = services[name]
        assert f"{APPS[name].factory}" in " ".join(spec["command"])
        assert "healthcheck" in spec and "/readyz" in " ".join(spec["healthcheck"]["test"])
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert spec["depends_on"]["nats"]["condition"] == "service_healthy"
    for name in SERVICES:
        assert services["gateway"]["depends_on"][name]["condition"] == "service_healthy"


def test_each_app_has_its_own_database_created_by_the_init_script():
    init_sql = (ROOT / "deploy" / "postgres-init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+);", init_sql))
    databases = {}
    for name, info in APPS.items():
        url = COMPOSE["services"][name]["environment"][f"{info.env_prefix}DATABASE_URL"]
        assert url.startswith("postgresql+asyncpg://")
        databases[name] = url.rsplit("/", 1)[1]
    assert len(set(databases.values())) == len(APPS), "no two apps share a database"
    assert set(databases.values()) <= created


def test_every_environment_variable_is_a_setting_the_code_reads():
    for name, info in APPS.items():
        fields = set(type(info.settings()).model_fields)
        env = COMPOSE["services"][name]["environment"]
        for key in env:
            assert key.startswith(info.env_prefix), f"{name}: {key} has the wrong prefix"
            field = key.removeprefix(info.env_prefix).lower()
            assert field in fields, f"{name}: {key} is not a setting of {type(info.settings()).__name__}"
        assert env[f"{info.env_prefix}ENVIRONMENT"] == "production"
        assert "${KAM_JWT_SECRET" in env[f"{info.env_prefix}JWT_SECRET"], "secrets come from the environment"


def test_no_secret_is_committed_in_compose():
    text = (ROOT / "docker-compose.yml").read_text()
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD" in text
    assert not re.search(r"PASSWORD:\s*['\"]?\w+['\"]?\s*$", text, re.M)


def test_dockerfile_installs_the_project_and_every_migrations_folder_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for part in ("shared", "services", "gateway", "kam"):
        assert f"COPY {part} ./{part}" in dockerfile
    for info in APPS.values():
        assert (info.migrations_dir / "env.py").exists()
        assert any(Path(info.migrations_dir / "versions").glob("*.py"))


# ------------------------------------------------------- the production cluster (deploy/compose.production.yml)

PRODUCTION_FILE = ROOT / "deploy" / "compose.production.yml"
PRODUCTION = yaml.safe_load(PRODUCTION_FILE.read_text())
NATS_NODES = ("nats-1", "nats-2", "nats-3")


def replicas_of(compose: dict[str, Any], app: str) -> list[dict[str, Any]]:
    """Every container an app runs as: its service times ``deploy.replicas``, or services ``<app>-1``, ``<app>-2``…"""
    services = compose["services"]
    named = [spec for name, spec in services.items() if name == app or re.fullmatch(rf"{app}-\d+", name)]
    return [spec for spec in named for _ in range(int(spec.get("deploy", {}).get("replicas", 1)))]


def provided(field: str, prefix: str, names: set[str]) -> bool:
    """Whether an environment with ``names`` sets a field (as KAM_<APP>_<FIELD>, or KAM_<FIELD> if platform-wide)."""
    return f"{prefix}{field.upper()}" in names or (field in PLATFORM_WIDE and f"KAM_{field.upper()}" in names)


def test_production_compose_runs_a_three_node_jetstream_cluster_with_auth_and_three_stream_replicas():
    services = PRODUCTION["services"]
    conf = (ROOT / "deploy" / "nats" / "nats.conf").read_text()
    assert "jetstream" in conf and "store_dir: /data" in conf
    assert "user: $NATS_USER" in conf and "password: $NATS_PASSWORD" in conf, "credentials come from the environment"
    volumes = set()
    for node in NATS_NODES:
        spec = services[node]
        command = spec["command"]
        assert command[command.index("--name") + 1] == node
        assert command[command.index("--cluster") + 1] == "nats://0.0.0.0:6222"
        routes = set(command[command.index("--routes") + 1].split(","))
        assert routes == {f"nats://{other}:6222" for other in NATS_NODES if other != node}
        assert "nats" in spec["networks"]["default"]["aliases"], "the apps' seed name reaches every node"
        assert spec["environment"]["NATS_PASSWORD"].startswith("${NATS_PASSWORD")
        data = next(v for v in spec["volumes"] if v.endswith(":/data"))
        volumes.add(data.split(":")[0])
        assert "js-enabled-only" in " ".join(spec["healthcheck"]["test"])
    assert len(volumes) == 3 and volumes <= set(PRODUCTION["volumes"]), "one file store per node"
    platform_env = PRODUCTION["x-platform-env"]
    assert platform_env["KAM_NATS_STREAM_REPLICAS"] == "3"
    assert platform_env["KAM_NATS_URL"].endswith("@nats:4222") and "${NATS_PASSWORD" in platform_env["KAM_NATS_URL"]


def test_production_compose_runs_every_service_twice_and_two_gateways_behind_a_health_checked_proxy():
    for name, info in APPS.items():
        containers = replicas_of(PRODUCTION, name)
        assert len(containers) == 2, name
        for spec in containers:
            assert info.factory in spec["command"]
            assert "/readyz" in " ".join(spec["healthcheck"]["test"])
            assert {"postgres", *NATS_NODES} <= set(spec["depends_on"])
            assert spec["read_only"] is True and "ports" not in spec, "only the proxy publishes a port"
    for name in SERVICES:
        assert PRODUCTION["services"][name]["deploy"]["replicas"] == 2
    gateways = [name for name in PRODUCTION["services"] if name.startswith("gateway-")]
    for name in gateways:
        command = PRODUCTION["services"][name]["command"]
        assert "--proxy-headers" in command, "client addresses (per-client limits) come from the proxy"
        assert set(SERVICES) <= set(PRODUCTION["services"][name]["depends_on"])
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    upstreams = re.search(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams is not None and set(upstreams.group(1).split()) == {f"{g}:8000" for g in gateways}
    assert "health_uri /readyz" in caddyfile and "Strict-Transport-Security" in caddyfile
    proxy = PRODUCTION["services"]["proxy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert set(proxy["depends_on"]) == set(gateways)
    published = [name for name, spec in PRODUCTION["services"].items() if spec.get("ports")]
    assert published == ["proxy"]


@pytest.mark.parametrize("compose_file", ["docker-compose.yml", "deploy/compose.production.yml"])
def test_every_setting_required_in_production_is_provided_under_its_env_name(compose_file: str):
    """Derived from the settings classes (shared.settings.required_in_production), never a hand list."""
    compose = yaml.safe_load((ROOT / compose_file).read_text())
    for name, info in APPS.items():
        fields = type(info.settings()).model_fields
        required = required_in_production(type(info.settings()))
        assert {"database_url", "nats_url", "jwt_secret", "nats_stream_replicas", "environment"} <= set(required)
        for spec in replicas_of(compose, name):
            env = spec["environment"]
            missing = [field for field in required if not provided(field, info.env_prefix, set(env))]
            assert not missing, f"{compose_file}: {name} does not set {missing}"
            for key in env:
                field = key.removeprefix(info.env_prefix).lower()
                platform = key.removeprefix("KAM_").lower()
                assert field in fields or platform in PLATFORM_WIDE, f"{compose_file}: {name}: {key} is no setting"
            environment = env.get(f"{info.env_prefix}ENVIRONMENT", env.get("KAM_ENVIRONMENT"))
            assert environment == "production"


def test_no_secret_is_written_into_the_production_files():
    text = PRODUCTION_FILE.read_text()
    for key, value in re.findall(r"^\s*(\w*(?:PASSWORD|SECRET)\w*):\s*(.+)$", text, re.M):
        assert value.startswith("${"), f"{key} must come from the environment"
    assert re.search(r"postgresql\+asyncpg://kam:\$\{POSTGRES_PASSWORD", text)
    assert not re.search(r"://\w+:(?!\$\{)[^@/\s]+@", text), "no credentials inside a URL"
