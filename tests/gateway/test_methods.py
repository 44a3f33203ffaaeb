"""A documented path called with a method it lacks answers 405 problem+json whose ``Allow`` lists the real methods,
at the gateway's own routes and at every proxied service route (the merged OpenAPI knows them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gateway.app import create_app
from gateway.openapi import HTTP_METHODS
from tests.gateway.platform import offline_gateway_settings
from tests.gateway.test_openapi import _merged
from tests.support import running

PROBE_ORDER = ("DELETE", "PUT", "PATCH", "POST", "GET")
SOME_ID = "0f0e0d0c-0b0a-4090-8070-605040302010"


async def test_every_documented_path_answers_405_with_its_real_methods_for_a_method_it_lacks(tmp_path: Path):
    merged = _merged()
    app = create_app(offline_gateway_settings(tmp_path))
    async with running(app) as client:
        runtime = app.state.runtime
        runtime.service_docs.update(
            {name: {**merged, "paths": {}} for name in runtime.service_docs}  # documented, so nothing is "missing"
        )
        runtime.merged_openapi = merged
        checked = exact = 0
        for template, item in merged["paths"].items():
            methods = {m.upper() for m in item if m in HTTP_METHODS}
            lacking = next((m for m in PROBE_ORDER if m not in methods), None)
            if lacking is None:
                continue
            path = re.sub(r"\{[^/]+?\}", SOME_ID, template)
            response = await client.request(lacking, path)
            if response.status_code != 405:  # another template matches too (``/accounts/batch`` ~ ``/accounts/{id}``)
                assert lacking in _methods_of_other_templates_matching(merged, template, path), (lacking, path)
                continue
            allowed = response.headers["allow"].split(", ")
            assert response.headers["content-type"] == "application/problem+json"
            assert set(methods) <= set(allowed) and lacking not in allowed, (lacking, path, allowed)
            assert response.json()["allowed"] == allowed
            exact += allowed == sorted(methods)
            checked += 1
        assert checked > 100 and exact > 100, (checked, exact)
        # The gateway's own routes are among them, and an undocumented path stays a 404 (nothing to allow).
        me = await client.delete("/api/v1/me")
        assert me.status_code == 405 and me.headers["allow"] == "GET"
        assert (await client.delete("/api/v1/nowhere/at-all")).status_code in (401, 404)


def _methods_of_other_templates_matching(document: dict[str, Any], template: str, path: str) -> set[str]:
    """What the other documented templates that ``path`` also fits answer (a literal segment ~ a parameter)."""
    found: set[str] = set()
    for other, item in document["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(other)) + "$"
        if other != template and re.match(pattern, path):
            found |= {m.upper() for m in item if m in HTTP_METHODS}
    return found
