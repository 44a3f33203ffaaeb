"""Deployment artefacts agree with the code: docker-compose names every app, a database each, real settings."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from kam.registry import APPS, ROOT, SERVICES

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
