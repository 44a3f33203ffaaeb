"""One table-driven security test over the gateway's merged OpenAPI, on a platform of its own (real processes):

1. every JSON body with one unknown field → 422 problem+json naming the field;
2. every path parameter given ``%00``, encoded or plain ``..`` segments → 4xx, never 5xx, never forwarded;
3. every operation as each role agrees with the route × role matrix (gateway/policy.py), and with a hand-written
   table of the cells that matter (so the check is not only the policy read back to itself);
4. another account manager on every route of an object of the first one's account → the same 404 as a random id.

The objects of item 4 are made once, through the API, by the owner (or by whoever may make them) and reused.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.policy import WRITE, allowed
from tests.gateway.platform import Platform, running_platform
from tests.support import auth, wait_until

OWNER, OTHER = "am-li", "am-zhang"
# The roles people hold (integrations' ``service`` has no user of its own).
ROLES_TESTED = ("admin", "supervisor", "account_manager", "risk_officer", "viewer", "department_owner")
METHODS = ("get", "post", "put", "patch", "delete")
UNKNOWN_FIELD = "zz_not_a_field"


@dataclass
class World:
    """The platform, its merged OpenAPI document, and one object per path parameter of the owner's account."""

    platform: Platform
    doc: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name → an object of the owner's account
    shared: dict[str, str] = field(default_factory=dict)  # path parameter name → an object of no account

    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        return [
            (method.upper(), path, op)
            for path, item in self.doc["paths"].items()
            if path.startswith("/api/v1/")
            for method, op in item.items()
            if method in METHODS and isinstance(op, dict)
        ]


def _soon(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def _day(days: int = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def _made(client: httpx.AsyncClient, path: str, body: dict[str, Any], who: dict[str, str]) -> dict[str, Any]:
    response = await client.post(path, json=body, headers=who)
    assert response.status_code in (200, 201), (path, response.status_code, response.text[:500])
    return dict(response.json())


async def make_objects(client: httpx.AsyncClient, account: str) -> dict[str, str]:
    """One object of every family the ``{id}`` routes need, on ``account`` (the owner's), made through the API."""
    owner = auth("account_manager", user_id=OWNER)
    supervisor = auth("supervisor", user_id="sup-wang")
    ids: dict[str, str] = {"account_id": account}
    contact = await _made(client, f"/accounts/{account}/contacts", {"name": "王总", "level": "executive"}, owner)
    ids["contact_id"] = contact["id"]
    visit = {"kind": "visit", "level": "executive", "occurred_on": _day(-1)}
    ids["engagement_id"] = (await _made(client, f"/accounts/{account}/engagements", visit, owner))["id"]
    proposal = {"cooperation_since": "2015-01-01", "note": "自报"}  # waits for a supervisor
    ids["change_request_id"] = (await _made(client, f"/accounts/{account}/change-requests", proposal, owner))["id"]
    complaint = await _made(
        client,
        "/complaints",
        {"account_id": account, "title": "交付延迟", "description": "三批次延迟", "category": "product_quality"},
        owner,
    )
    ids["complaint_id"] = cid = complaint["id"]
    action = {"kind": "corrective", "description": "补发", "owner_id": OWNER, "due_at": _soon()}
    ids["action_id"] = (await _made(client, f"/complaints/{cid}/actions", action, owner))["id"]
    remedy = {"kind": "discount", "description": "折扣", "value": "100.00"}
    ids["remedy_id"] = (await _made(client, f"/complaints/{cid}/remedies", remedy, owner))["id"]
    task = {"department": "after_sales", "title": "上门", "assignee_id": OWNER, "due_at": _soon(1)}
    ids["task_id"] = (await _made(client, f"/complaints/{cid}/tasks", task, owner))["id"]
    survey = {"account_id": account, "contact_id": contact["id"], "template_code": "complaint-revisit"}

    async def asked() -> httpx.Response | None:  # once complaints has heard of the contact (an event)
        response = await client.post("/complaints/surveys/requests", json=survey, headers=owner)
        return response if response.status_code == 201 else None

    ids["request_id"] = rid = (await wait_until(asked, timeout=30, message="the survey request")).json()["id"]
    await _made(client, f"/complaints/surveys/requests/{rid}/answer", {"answers": {"csat": 1}}, owner)
    follow_ups = (await client.get("/complaints/surveys/follow-ups", headers=owner)).json()["items"]
    ids["follow_up_id"] = next(f["id"] for f in follow_ups if f["request_id"] == rid)  # a low score's follow-up
    # Risk: a signal raises an alert whose plan makes action items; a contract, an invoice, an order, a request.
    await _made(client, f"/risk/accounts/{account}/signals", {"value": "4", "title": "财务恶化"}, supervisor)
    alerts = (await client.get("/risk/alerts", params={"account_id": account}, headers=owner)).json()["items"]
    ids["alert_id"] = alerts[0]["id"]
    items = (await client.get("/risk/action-items", headers=owner)).json()["items"]
    ids["item_id"] = next(i["id"] for i in items if i["account_id"] == account)
    contract = {"title": "框架协议", "start_on": _day(), "end_on": _day(365)}
    ids["contract_id"] = (await _made(client, f"/risk/accounts/{account}/contracts", contract, supervisor))["id"]
    invoice = {"number": f"INV-{uuid.uuid4().hex[:8]}", "amount": "1000.00", "issued_on": _day(), "due_on": _day(30)}
    ids["invoice_id"] = (await _made(client, f"/risk/accounts/{account}/invoices", invoice, supervisor))["id"]
    check = {"amount": "10.00", "order_reference": "SO-1", "record": True}
    ids["order_id"] = (await _made(client, f"/risk/accounts/{account}/credit-check", check, supervisor))["order_id"]
    limit = {"kind": "permanent", "requested_limit": "500000.00", "currency": "CNY", "reason": "年度授信"}
    made = await _made(client, f"/risk/accounts/{account}/limit-requests", limit, supervisor)
    ids["request_id_risk"] = made["id"]
    # Goals: a target with an action, a plan, a project with a part.
    target = {"account_id": account, "metric": "revenue", "period": "2026", "target_value": "1000000.00"}
    ids["target_id"] = tid = (await _made(client, "/goals/targets", target, owner))["id"]
    goal_action = {"title": "拜访", "owner_id": OWNER, "due_date": _day(14)}
    ids["goal_action_id"] = (await _made(client, f"/goals/targets/{tid}/actions", goal_action, owner))["id"]
    plan = {"account_id": account, "year": 2026, "title": "2026 客户计划"}
    ids["plan_id"] = (await _made(client, "/goals/plans", plan, owner))["id"]
    part = {"department": "marketing", "title": "联合推广", "owner_id": OWNER, "due_on": _day(30)}
    project = await _made(
        client, "/goals/projects", {"account_id": account, "title": "联合项目", "parts": [part]}, owner
    )
    ids["project_id"] = project["id"]
    ids["part_id"] = project["parts"][0]["id"]
    # The owner's sales forecast of this fiscal year (the year as in Shanghai, UTC+8).
    year = str((datetime.now(UTC) + timedelta(hours=8)).year)
    forecast = {"period": year, "commit": "100.00", "best_case": "200.00", "pipeline": "300.00"}
    ids["forecast_id"] = (await _made(client, "/goals/forecasts", forecast, owner))["id"]
    return ids


async def make_shared_objects(client: httpx.AsyncClient, account: str) -> dict[str, str]:
    """Objects of no account that routes with a JSON body need: a survey template, a schedule, an import batch."""
    supervisor = auth("supervisor", user_id="sup-wang")
    templates = (await client.get("/complaints/surveys/templates", headers=supervisor)).json()["items"]
    schedule = {"name": "年度回访", "tier": "key", "contact_level": "executive", "cadence": "yearly"}
    schedule["template_code"] = "complaint-revisit"
    made = await _made(client, "/complaints/surveys/schedules", schedule, supervisor)
    sales = f"account_id,date,product_line,revenue,cost\n{account},2026-01-15,储能,1000.00,600.00\n"
    params = {"batch_id": "security-matrix", "filename": "sales.csv"}
    imported = await client.post("/goals/imports", params=params, content=sales.encode(), headers=supervisor)
    assert imported.status_code in (201, 202), imported.text
    return {"template_id": templates[0]["id"], "schedule_id": made["id"], "batch_id": "security-matrix"}


# ---------------------------------------------------------------- path parameters

# Values of the parameters that name no object of an account (for the routes that need a real one to go on).
FIXED: dict[str, str] = {
    "code": "product_quality",
    "year": "2026",
    "tier": "key",
    "severity": "high",
    "currency": "USD",
    "valid_on": "2026-01-02",
    "signal_type": "financial_deterioration",
    "user_id": OWNER,
}
FIXED_BY_PATH: dict[str, dict[str, str]] = {
    "/api/v1/risk/rules/{code}": {"code": "FINANCIAL_DETERIORATION"},
    "/api/v1/complaints/calendars/{code}/{year}": {"code": "CN"},
}
PARAMETER = re.compile(r"\{([^}]+)\}")


def object_key(path: str, name: str) -> str:
    """Which of the owner's objects a path parameter names (two services share some parameter names)."""
    if name == "action_id" and path.startswith("/api/v1/goals/"):
        return "goal_action_id"
    if name == "request_id" and path.startswith("/api/v1/risk/"):
        return "request_id_risk"
    return name


def fill(path: str, value: Any) -> str:
    """``path`` with each ``{name}`` replaced by ``value(name)``."""
    return PARAMETER.sub(lambda m: str(value(m.group(1))), path)


def real_path(world: World, path: str) -> str:
    """The path naming the owner's objects (fixed values for parameters that are not objects, else a random id)."""
    fixed = {**FIXED, **world.shared, **FIXED_BY_PATH.get(path, {})}
    return fill(path, lambda name: world.ids.get(object_key(path, name)) or fixed.get(name) or uuid.uuid4())


def random_path(path: str) -> str:
    return fill(path, lambda name: uuid.uuid4())


def has_json_body(op: dict[str, Any]) -> bool:
    return "application/json" in op.get("requestBody", {}).get("content", {})


async def gathered(coroutines: list[Any], limit: int = 4) -> list[Any]:
    """Run ``coroutines`` a few at a time (the machine is small and shared)."""
    gate = asyncio.Semaphore(limit)

    async def one(coroutine: Any) -> Any:
        async with gate:
            return await coroutine

    return await asyncio.gather(*(one(c) for c in coroutines))


def problem_of(response: httpx.Response) -> dict[str, Any]:
    """The problem document of an error response ({} when it is none)."""
    if not response.headers.get("content-type", "").startswith("application/problem+json"):
        return {}
    body = response.json()
    return body if isinstance(body, dict) else {}


# ---------------------------------------------------------------- 1. unknown fields


async def etag_of(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    """The ETag of the resource a write on ``path`` changes: the path itself or the nearest parent that has one."""
    start = path
    while path.count("/") > 1:
        response = await client.get(path, headers=headers)
        if response.status_code == 200 and "etag" in response.headers:
            return response.headers["etag"]
        path = path.rsplit("/", 1)[0]
    raise AssertionError(f"no ETag on {start} or above it")


async def unknown_field_failures(world: World, client: httpx.AsyncClient) -> list[str]:
    """Each JSON body operation (on the owner's real objects, as admin) that does not answer an unknown field
    with a 422 problem naming it."""
    admin = auth("admin", user_id="root")

    async def check(method: str, template: str) -> str | None:
        path = real_path(world, template).removeprefix("/api/v1")
        response = await client.request(method, path, json={UNKNOWN_FIELD: 1}, headers=admin)
        if response.status_code == 428:  # a versioned resource: send the ETag of a prior GET
            headers = {**admin, "If-Match": await etag_of(client, path, admin)}
            response = await client.request(method, path, json={UNKNOWN_FIELD: 1}, headers=headers)
        named = [str(e.get("field", "")) for e in problem_of(response).get("errors", [])]
        if response.status_code == 422 and any(name.endswith(UNKNOWN_FIELD) for name in named):
            return None
        return f"{method} {template}: {response.status_code} {response.text[:300]}"

    checks = [check(m, p) for m, p, op in world.operations() if has_json_body(op)]
    assert len(checks) > 60
    return [failure for failure in await gathered(checks) if failure]


# ---------------------------------------------------------------- 2. odd path parameters

# Each replaces one path parameter as sent on the wire (no client normalises it).
ODD_VALUES = ("%00", "x%00y", "%2F..%2F", "..%2F..%2Fusers", "%2e%2e", "..", "../..", "x/../../users", "..%5cusers")


async def raw_request(base_url: str, method: str, raw_path: str, headers: dict[str, str]) -> tuple[int, set[str]]:
    """Send ``raw_path`` byte for byte (HTTP/1.1 on a socket of its own): the status and the header names."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        head = [f"{method} {raw_path} HTTP/1.1", f"Host: {host}", "Connection: close", "Content-Length: 0"]
        writer.write("\r\n".join([*head, *(f"{k}: {v}" for k, v in headers.items()), "", ""]).encode())
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    lines = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return int(lines[0].split(" ")[1]), {line.partition(":")[0].strip().lower() for line in lines[1:]}


async def odd_path_failures(world: World) -> list[str]:
    """Each (path, parameter, odd value) that is not a 4xx decided at the edge (never a 5xx, never forwarded)."""
    admin = auth("admin", user_id="root")
    cases = []
    for path, item in world.doc["paths"].items():
        method = next((m.upper() for m in METHODS if m in item), None)
        for name in PARAMETER.findall(path) if method else ():
            for odd in ODD_VALUES:
                raw = fill(path, lambda n, name=name, odd=odd: odd if n == name else uuid.uuid4())
                cases.append((method, path, raw))

    async def check(method: str, path: str, raw: str) -> str | None:
        status, headers = await raw_request(world.platform.gateway.url, method, raw, admin)
        if 400 <= status < 500 and "x-upstream-service" not in headers:
            return None
        return f"{method} {raw} ({path}): {status}{' forwarded' if 'x-upstream-service' in headers else ''}"

    assert len(cases) > 500
    return [failure for failure in await gathered([check(*case) for case in cases]) if failure]


# ---------------------------------------------------------------- 3. the role matrix

# The cells that matter, written out by hand (not read from gateway/policy.py): (role, method, path) → may call.
CELLS: tuple[tuple[str, str, str, bool], ...] = (
    ("account_manager", "POST", "/api/v1/risk/limit-requests/{request_id}/approve", False),
    ("account_manager", "POST", "/api/v1/risk/limit-requests/{request_id}/reject", False),
    ("account_manager", "POST", "/api/v1/risk/accounts/{account_id}/limit-requests", False),
    ("account_manager", "PUT", "/api/v1/risk/scorecard", False),
    ("account_manager", "PUT", "/api/v1/risk/rules/{code}", False),
    ("account_manager", "PUT", "/api/v1/risk/plan-templates/{signal_type}", False),
    ("account_manager", "POST", "/api/v1/risk/industry-policies", False),
    ("account_manager", "POST", "/api/v1/risk/orders/{order_id}/release", False),
    ("account_manager", "POST", "/api/v1/risk/orders/{order_id}/reject", False),
    ("account_manager", "POST", "/api/v1/risk/orders/{order_id}/cancel", True),
    ("account_manager", "POST", "/api/v1/risk/accounts/{account_id}/invoices", False),
    ("account_manager", "PUT", "/api/v1/risk/fx-rates/{currency}/{valid_on}", False),
    ("account_manager", "POST", "/api/v1/goals/plans/{plan_id}/approve", False),
    ("account_manager", "PUT", "/api/v1/goals/scorecard-schemes/{role}", False),
    ("account_manager", "POST", "/api/v1/goals/scorecards/{person_id}/{period}/sign-off", False),
    ("supervisor", "POST", "/api/v1/goals/scorecards/{person_id}/{period}/sign-off", True),
    ("account_manager", "POST", "/api/v1/users", False),
    ("account_manager", "PUT", "/api/v1/accounts/{account_id}/team", False),
    ("account_manager", "POST", "/api/v1/accounts/{account_id}/tier-override", False),
    ("account_manager", "POST", "/api/v1/accounts/{account_id}/change-requests/{change_request_id}/approve", False),
    ("account_manager", "POST", "/api/v1/accounts/{account_id}/change-requests/{change_request_id}/reject", False),
    ("supervisor", "POST", "/api/v1/accounts/{account_id}/change-requests/{change_request_id}/approve", True),
    ("account_manager", "POST", "/api/v1/accounts/{account_id}/change-requests", True),
    ("account_manager", "GET", "/api/v1/accounts/{account_id}/history", True),
    ("account_manager", "POST", "/api/v1/complaints/{complaint_id}/remedies/{remedy_id}/decision", False),
    ("account_manager", "POST", "/api/v1/risk/action-items/{item_id}/complete", True),
    ("account_manager", "PATCH", "/api/v1/risk/action-items/{item_id}", True),
    ("account_manager", "POST", "/api/v1/risk/alerts/{alert_id}/transitions", True),
    ("account_manager", "POST", "/api/v1/risk/accounts/{account_id}/contracts", True),
    ("account_manager", "POST", "/api/v1/risk/contracts/{contract_id}/transitions", True),
    ("account_manager", "POST", "/api/v1/risk/accounts/{account_id}/credit-check", True),
    ("account_manager", "POST", "/api/v1/complaints", True),
    ("account_manager", "POST", "/api/v1/goals/plans", True),
    ("account_manager", "GET", "/api/v1/risk/alerts", True),
    ("supervisor", "POST", "/api/v1/users", False),
    ("supervisor", "POST", "/api/v1/goals/plans/{plan_id}/approve", True),
    ("supervisor", "POST", "/api/v1/risk/accounts/{account_id}/limit-requests", True),
    ("risk_officer", "POST", "/api/v1/risk/limit-requests/{request_id}/approve", True),
    ("risk_officer", "PUT", "/api/v1/risk/scorecard", True),
    ("risk_officer", "GET", "/api/v1/users", False),
    ("department_owner", "PATCH", "/api/v1/goals/projects/{project_id}/parts/{part_id}", True),
    ("department_owner", "POST", "/api/v1/goals/projects", False),
    ("department_owner", "POST", "/api/v1/complaints", False),
    ("viewer", "GET", "/api/v1/portfolio", True),
    ("viewer", "GET", "/api/v1/users", False),
    ("admin", "POST", "/api/v1/users", True),
    ("admin", "PUT", "/api/v1/risk/scorecard", True),
)
# A viewer writes nothing but their own session, inbox and notification preferences.
VIEWER_WRITES = re.compile(r"^/api/v1/(auth/|notifications/(inbox|preferences)(/|$))")


def by_hand(role: str, method: str, template: str) -> bool | None:
    """What the hand-written table says of a cell (None: it says nothing)."""
    for cell_role, cell_method, cell_path, may in CELLS:
        if (cell_role, cell_method, cell_path) == (role, method, template):
            return may
    if role == "viewer" and method in WRITE:
        return bool(VIEWER_WRITES.match(template))
    return None


@pytest.mark.parametrize(("role", "method", "template", "may"), CELLS, ids=lambda v: str(v))
def test_the_policy_table_agrees_with_the_hand_written_cells(role: str, method: str, template: str, may: bool):
    assert allowed(method, random_path(template), frozenset({role})) is may


async def role_failures(world: World, client: httpx.AsyncClient, role: str) -> list[str]:
    """Each operation where, as ``role``, the gateway's 403 (no upstream answered) disagrees with the matrix, the
    matrix with the hand-written table, or the answer is a server error (ids are random: nothing is changed)."""
    who = auth(role, user_id=f"matrix-{role}")

    async def check(method: str, template: str, op: dict[str, Any]) -> str | None:
        path = random_path(template)
        expected = allowed(method, path, frozenset({role}))
        hand = by_hand(role, method, template)
        if hand is not None and hand is not expected:
            return f"{method} {template}: the policy says {expected}, the hand-written table {hand}"
        body = {} if method in WRITE and has_json_body(op) else None
        response = await client.request(method, path.removeprefix("/api/v1"), json=body, headers=who)
        refused = response.status_code == 403 and "x-upstream-service" not in response.headers
        if refused is expected or response.status_code >= 500:
            return f"{method} {template}: {response.status_code} (matrix allows: {expected}) {response.text[:200]}"
        return None

    operations = world.operations()
    documented = {(m, p) for m, p, _ in operations}
    assert {(m, p) for _, m, p, _ in CELLS} <= documented, "a hand-written cell names an undocumented operation"
    return [failure for failure in await gathered([check(*op) for op in operations]) if failure]


# ---------------------------------------------------------------- 4. nothing leaks about another's objects


def normalised(response: httpx.Response, *ids: str) -> Any:
    """The problem document without what differs per request (request id, instance) and with ``ids`` masked."""
    text = response.text
    for value in ids:
        text = text.replace(value, "<id>")
    body = json.loads(text) if response.headers.get("content-type", "").endswith("json") else text
    if isinstance(body, dict):
        body.pop("request_id", None)
        body.pop("instance", None)
    return body


async def leak_failures(world: World, client: httpx.AsyncClient) -> list[str]:
    """Each route of an object of the owner's account that answers another account manager otherwise than the
    same route with random ids (403 where the matrix refuses account managers, else 404; same body)."""
    other = auth("account_manager", user_id=OTHER)

    async def check(method: str, template: str, op: dict[str, Any]) -> str | None:
        names = PARAMETER.findall(template)
        real = {name: world.ids[object_key(template, name)] for name in names}
        fake = {name: str(uuid.uuid4()) for name in names}
        body = {} if method in WRITE and has_json_body(op) else None
        answers = []
        for values in (real, fake):
            path = fill(template, values.__getitem__).removeprefix("/api/v1")
            answer = await client.request(method, path, json=body, headers=other)
            instance = (
                answer.json().get("instance") if answer.headers.get("content-type", "").endswith("json") else None
            )
            if instance != "/api/v1" + path:  # RFC 9457: the occurrence as the client called it, not a service path
                return f"{method} {template}: problem instance {instance!r} is not the public path /api/v1{path}"
            answers.append(answer)
        expected = 404 if allowed(method, fill(template, real.__getitem__), frozenset({"account_manager"})) else 403
        mine, random = answers
        same = normalised(mine, *real.values()) == normalised(random, *fake.values())
        if mine.status_code == random.status_code == expected and same:
            return None
        mine_text, random_text = mine.text[:250], random.text[:250]
        return f"{method} {template}: {mine.status_code} {mine_text} | random: {random.status_code} {random_text}"

    operations = [
        (m, p, op)
        for m, p, op in world.operations()
        if (names := PARAMETER.findall(p)) and all(object_key(p, n) in world.ids for n in names)
    ]
    assert len(operations) > 60
    return [failure for failure in await gathered([check(*op) for op in operations]) if failure]


# ---------------------------------------------------------------- the platform and the tests


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A platform of its own (rate limits that do not throttle the sweep), two accounts (one per account manager)
    and one object of every family on the first manager's account."""
    workdir: Path = tmp_path_factory.mktemp("security-matrix")
    limits = {"rate_limit_per_minute": "1000000", "rate_limit_burst": "100000"}
    with running_platform(workdir, {"li": OWNER, "zhang": OTHER}, **limits) as plat:

        async def seed() -> World:
            async with httpx.AsyncClient(base_url=plat.api, timeout=60) as client:
                doc = (await client.get(f"{plat.gateway.url}/openapi.json")).json()
                found = World(platform=plat, doc=doc)
                found.ids = await make_objects(client, plat.accounts["li"])
                found.shared = await make_shared_objects(client, plat.accounts["li"])
                return found

        yield asyncio.run(seed())


@pytest.fixture
async def client(world: World) -> Any:
    async with httpx.AsyncClient(base_url=world.platform.api, timeout=60) as http:
        yield http


async def test_an_unknown_body_field_is_a_422_naming_it(world: World, client: httpx.AsyncClient):
    failures = await unknown_field_failures(world, client)
    assert not failures, "\n".join(failures)


async def test_odd_path_parameters_are_refused_at_the_edge(world: World):
    failures = await odd_path_failures(world)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("role", ROLES_TESTED)
async def test_every_operation_agrees_with_the_role_matrix(world: World, client: httpx.AsyncClient, role: str):
    failures = await role_failures(world, client, role)
    assert not failures, "\n".join(failures)


async def test_another_account_manager_learns_nothing_about_an_object(world: World, client: httpx.AsyncClient):
    failures = await leak_failures(world, client)
    assert not failures, "\n".join(failures)
