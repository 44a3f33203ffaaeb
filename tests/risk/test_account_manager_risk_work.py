"""Account managers do the risk work plans give them on their own accounts, through the gateway (docs/risk.md,
Roles): complete their action items, acknowledge and mitigate alerts, draft and submit contracts, simulate a credit
check — another account manager gets 404 for all of it, and nobody but a risk officer approves a limit (403)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.api import etag_for
from tests.gateway.platform import Platform, running_platform
from tests.support import auth

LI, ZHANG = auth("account_manager", user_id="am-li"), auth("account_manager", user_id="am-zhang")
SUPERVISOR = auth("supervisor", user_id="sup-wang")


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("am-risk"), {"li": "am-li", "zhang": "am-zhang"}) as plat:
        yield plat


@pytest.fixture
async def api(platform: Platform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.api, timeout=30) as client:
        yield client


async def _alert_of(api: httpx.AsyncClient, account: str) -> dict[str, Any]:
    """The red alert a financial signal raises on ``account`` (its plan: steps for the owner and for the queues)."""
    signal = {"value": "4", "title": "财务恶化", "reference": f"fin-{account}"}
    made = await api.post(f"/risk/accounts/{account}/signals", json=signal, headers=SUPERVISOR)
    assert made.status_code == 201, made.text
    alerts = (await api.get("/risk/alerts", params={"account_id": account}, headers=SUPERVISOR)).json()["items"]
    detail = await api.get(f"/risk/alerts/{alerts[0]['id']}", headers=SUPERVISOR)
    return dict(detail.json())


async def test_an_account_manager_works_the_plan_of_an_alert_on_her_account(api: httpx.AsyncClient, platform: Platform):
    alert = await _alert_of(api, platform.accounts["li"])
    mine = [item for item in alert["action_items"] if item["owner_id"] == "am-li"]
    assert mine, alert["action_items"]
    step = {"If-Match": etag_for(mine[0]["version"])}
    # Another account manager finds nothing of it.
    refused = await api.post(f"/risk/action-items/{mine[0]['id']}/complete", headers={**ZHANG, **step})
    assert refused.status_code == 404, refused.text
    etag = (await api.get(f"/risk/alerts/{alert['id']}", headers=LI)).headers["etag"]
    moved = {"status": "acknowledged", "note": "已联系客户财务"}
    refused = await api.post(f"/risk/alerts/{alert['id']}/transitions", json=moved, headers={**ZHANG, "If-Match": etag})
    assert refused.status_code == 404, refused.text
    assert (await api.get(f"/risk/action-items/{mine[0]['id']}", headers=ZHANG)).status_code == 404
    # She reads her step (its ETag), completes it with what she did, and moves the alert along.
    own = await api.get(f"/risk/action-items/{mine[0]['id']}", headers=LI)
    assert own.status_code == 200 and own.headers["etag"] == step["If-Match"]
    note = {"outcome": "与客户财务总监面谈，确认回款计划：12月15日前支付50%"}
    done = await api.post(
        f"/risk/action-items/{mine[0]['id']}/complete", json=note, headers={**LI, "If-Match": own.headers["etag"]}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["done_by"], done.json()["outcome"]) == ("done", "am-li", note["outcome"])
    shown = await api.get(f"/risk/alerts/{alert['id']}", headers=SUPERVISOR)
    assert note["outcome"] in [item.get("outcome") for item in shown.json()["action_items"]]
    for status in ("acknowledged", "mitigating"):
        path, headers = f"/risk/alerts/{alert['id']}/transitions", {**LI, "If-Match": etag}
        answer = await api.post(path, json={**moved, "status": status}, headers=headers)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status
        etag = answer.headers["etag"]


async def test_the_action_item_list_filters_by_the_queue_of_a_role(api: httpx.AsyncClient, platform: Platform):
    await _alert_of(api, platform.accounts["zhang"])
    everything = (await api.get("/risk/action-items", headers=ZHANG)).json()["items"]
    queued = await api.get("/risk/action-items", params={"owner_role": "risk_officer"}, headers=ZHANG)
    assert queued.status_code == 200, queued.text
    items = queued.json()["items"]
    assert items and len(items) < len(everything)
    assert {item["owner_role"] for item in items} == {"risk_officer"}
    assert (await api.get("/risk/action-items", params={"owner_role": "viewer"}, headers=ZHANG)).status_code == 422


async def test_an_account_manager_drafts_and_submits_a_contract_but_does_not_approve_it(
    api: httpx.AsyncClient, platform: Platform
):
    account = platform.accounts["li"]
    today = datetime.now(UTC).date()
    body = {"title": "年度供货框架协议", "contract_type": "supply", "start_on": today.isoformat()}
    body["end_on"] = (today + timedelta(days=365)).isoformat()
    assert (await api.post(f"/risk/accounts/{account}/contracts", json=body, headers=ZHANG)).status_code == 404
    made = await api.post(f"/risk/accounts/{account}/contracts", json=body, headers=LI)
    assert made.status_code == 201, made.text
    contract = made.json()
    etag = {"If-Match": (await api.get(f"/risk/contracts/{contract['id']}", headers=LI)).headers["etag"]}
    review = {"status": "legal_review", "note": "请法务审核"}
    assert (
        await api.post(f"/risk/contracts/{contract['id']}/transitions", json=review, headers={**ZHANG, **etag})
    ).status_code == 404
    submitted = await api.post(f"/risk/contracts/{contract['id']}/transitions", json=review, headers={**LI, **etag})
    assert submitted.status_code == 200, submitted.text
    approve = {"status": "approved", "note": "同意"}
    etag = {"If-Match": submitted.headers["etag"]}
    refused = await api.post(f"/risk/contracts/{contract['id']}/transitions", json=approve, headers={**LI, **etag})
    assert refused.status_code == 403, refused.text


async def test_an_account_manager_simulates_a_credit_check_but_never_approves_a_limit(
    api: httpx.AsyncClient, platform: Platform
):
    account = platform.accounts["li"]
    check = {"amount": "50000.00", "currency": "CNY", "order_reference": "SO-2026-001", "record": False}
    simulated = await api.post(f"/risk/accounts/{account}/credit-check", json=check, headers=LI)
    assert simulated.status_code == 200, simulated.text
    assert simulated.json()["decision"] == "block" and simulated.json()["order_id"] is None  # no limit yet
    assert (await api.post(f"/risk/accounts/{account}/credit-check", json=check, headers=ZHANG)).status_code == 404
    limit = {"kind": "permanent", "requested_limit": "800000.00", "currency": "CNY", "reason": "年度授信"}
    requested = await api.post(f"/risk/accounts/{account}/limit-requests", json=limit, headers=SUPERVISOR)
    assert requested.status_code == 201, requested.text
    assert (await api.post(f"/risk/accounts/{account}/limit-requests", json=limit, headers=LI)).status_code == 403
    decision = {"note": "同意"}
    approve = await api.post(f"/risk/limit-requests/{requested.json()['id']}/approve", json=decision, headers=LI)
    assert approve.status_code == 403, approve.text
