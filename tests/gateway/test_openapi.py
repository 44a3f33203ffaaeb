"""The one public OpenAPI document is valid, and no service's schema is documented with another's."""

from __future__ import annotations

import json
import re
from typing import Any

from openapi_spec_validator import validate

from gateway.app import create_app as create_gateway
from gateway.config import GatewaySettings
from gateway.openapi import merge_openapi
from services.complaints.app import create_app as create_complaints
from services.complaints.config import ComplaintsSettings
from services.goals.app import create_app as create_goals
from services.goals.config import GoalsSettings
from services.risk.app import create_app as create_risk
from services.risk.config import RiskSettings
from services.scoring.app import create_app as create_scoring
from services.scoring.config import ScoringSettings
from tests.support import service_settings

SERVICES = {
    "scoring": (create_scoring, ScoringSettings),
    "complaints": (create_complaints, ComplaintsSettings),
    "risk": (create_risk, RiskSettings),
    "goals": (create_goals, GoalsSettings),
}


def _merged() -> dict[str, Any]:
    url = "sqlite+aiosqlite:///:memory:"
    docs = {
        name: factory(service_settings(settings, database_url=url, nats_url=None)).openapi()
        for name, (factory, settings) in SERVICES.items()
    }
    gateway = create_gateway(service_settings(GatewaySettings, database_url=url, nats_url=None))
    return merge_openapi(gateway.openapi(), docs)


def _refs(node: Any) -> set[str]:
    """Every schema name a part of the document refers to."""
    return set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', json.dumps(node)))


def test_the_merged_document_is_valid_openapi():
    validate(_merged())


def test_every_service_operation_refers_only_to_its_own_schemas():
    merged = _merged()
    checked = 0
    for path, item in merged["paths"].items():
        service = path.removeprefix("/api/v1/").split("/", 1)[0]
        if service not in SERVICES:
            continue
        for ref in _refs(item):
            assert ref.startswith(f"{service}__"), (path, ref)
            checked += 1
    assert checked > 100
    # The two services' action items are two documented schemas, each at its own path.
    risk_items = json.dumps(merged["paths"]["/api/v1/risk/action-items"])
    assert "goals__" not in risk_items and "risk__" in risk_items
