"""A client's own mistakes never open a service's circuit breaker for everyone else."""

from __future__ import annotations

from tests.support import auth


async def test_fifty_client_errors_in_a_row_leave_the_service_reachable_for_another_user(api, platform):
    viewer = auth("viewer", user_id="matrix-viewer")
    supervisor = auth("supervisor", user_id="sup-wang")
    bad = [
        ("GET", "/accounts?offset=99999999999999999999", None),
        ("GET", "/accounts?limit=0", None),
        ("PATCH", f"/accounts/{platform.accounts['li']}", {"annual_revenue": "1e999999"}),
        ("POST", "/complaints", {"zz_unknown": 1}),
        ("GET", "/accounts/%14", None),
    ]
    statuses = []
    for i in range(50):
        method, path, body = bad[i % len(bad)]
        response = await api.request(method, path, json=body, headers=viewer)
        statuses.append(response.status_code)
    assert all(400 <= s < 500 for s in statuses), statuses
    # Another user right after: served, not "503 circuit open".
    ok = await api.get("/accounts", headers=supervisor)
    assert ok.status_code == 200, ok.text
    complaints = await api.get("/complaints", headers=supervisor)
    assert complaints.status_code == 200, complaints.text
