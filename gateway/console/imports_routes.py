"""The console's goals and team page, and the sales-data import (CSV or XLSX) with its progress and rejected rows."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import Response

from gateway.console import charts
from gateway.console.actions import spreadsheet_as_csv
from gateway.console.client import Console
from gateway.console.deps import ConsoleUser, CsrfChecked, ObjectId
from gateway.console.pages import CONSOLE, render
from gateway.console.routes import frame, translators

router = APIRouter(include_in_schema=False)
UPLOAD_CHUNK_BYTES = 256 * 1024  # what a CSV upload is streamed on in


def target_tree(targets: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Targets grouped by account (team targets by owner), each root with ``children`` (its decomposition)."""
    by_id = {str(t["id"]): {**t, "children": []} for t in targets}
    roots: list[dict[str, Any]] = []
    for node in by_id.values():
        parent = by_id.get(str(node.get("parent_id")))
        (parent["children"] if parent else roots).append(node)
    for node in by_id.values():
        node["children"].sort(key=lambda n: (str(n.get("period")), str(n.get("product_line"))))
    groups: dict[str, dict[str, Any]] = {}
    for root in sorted(roots, key=lambda n: (str(n.get("metric")), str(n.get("period")))):
        account = root.get("account_id")
        key = str(account or f"team:{root.get('owner_id')}")
        name = names.get(str(account), str(account)) if account else str(root.get("owner_id"))
        group = groups.setdefault(key, {"account_id": account, "name": name, "targets": [], "at_risk": False})
        group["targets"].append(root)
        group["at_risk"] = group["at_risk"] or bool(root.get("at_risk"))
    return sorted(groups.values(), key=lambda g: (not g["at_risk"], g["name"]))


@router.get(CONSOLE + "/goals")
async def goals(request: Request, console: ConsoleUser, target: str | None = Query(None, max_length=64)) -> Response:
    """Targets and their decomposition, the variance of a chosen target, and the team scorecards."""
    t, _, _ = translators(request)
    context = await goals_page(console, target, t)
    return render(request, "goals.html", {**frame(console), **context})


async def goals_page(console: Console, target: str | None, t: Any) -> dict[str, Any]:
    """The reads of the goals page and its charts."""
    found, scorecards, accounts = await asyncio.gather(
        console.get("/goals/targets", limit=200), console.get("/goals/scorecards"), console.get("/accounts", limit=200)
    )
    names = {str(a.get("id")): str(a.get("name")) for a in accounts.items()}
    cards = scorecards.body if scorecards.ok and isinstance(scorecards.body, list) else []
    options: dict[str, Any] = {}
    if cards:
        options["kpi"] = charts.bars([c["owner_id"] for c in cards], [c["kpi_score"] for c in cards], t("goals.kpi"))
    variance = await console.get(f"/goals/targets/{target}/variance") if target else None
    if variance is not None and variance.ok and isinstance(variance.body, dict):
        parts = variance.body.get("by_product_line") or []
        options["variance"] = charts.bars([p["key"] for p in parts], [p["delta"] for p in parts], t("goals.variance"))
    return {
        "tree": target_tree(found.items(), names),
        "scorecards": cards,
        "variance": variance.body if variance and variance.ok else None,
        "variance_error": variance.detail if variance and not variance.ok else None,
        "charts": options,
        "chosen": target,
    }


@router.get(CONSOLE + "/imports")
async def imports(request: Request, console: ConsoleUser) -> Response:
    """The upload form."""
    return render(request, "imports.html", {**frame(console), "batch": None})


@router.post(CONSOLE + "/imports")
async def upload(request: Request, file: UploadFile, console: ConsoleUser, _: CsrfChecked) -> Response:
    """Start an import of a CSV (streamed on) or XLSX file; the answer polls its progress."""
    try:
        body = await csv_body(file)
    except Exception as exc:  # an unreadable workbook is the user's problem to see, not a 500
        return render(request, "_import_status.html", {"batch": None, "detail": str(exc), "rejections": []}, status=422)
    params = {"batch_id": f"console-{uuid.uuid4().hex[:16]}", "filename": file.filename}
    result = await console.upload("/goals/imports", body, "text/csv", params)
    batch = result.body if result.ok else None
    return render(
        request,
        "_import_status.html",
        {"batch": batch, "detail": None if result.ok else result.detail, "rejections": []},
        status=200 if result.ok else 422,
    )


async def csv_body(file: UploadFile) -> bytes | AsyncIterator[bytes]:
    """The import's CSV: a CSV file is streamed from its spooled copy in chunks (memory flat in file size, bounded by
    the gateway's upload limit, as ``/console/imports`` is a bulk upload path); an XLSX's first sheet is converted
    off the event loop."""
    name = file.filename or "upload.csv"
    if name.lower().endswith(".xlsx"):
        return await asyncio.to_thread(spreadsheet_as_csv, name, await file.read())

    async def chunks() -> AsyncIterator[bytes]:
        while chunk := await file.read(UPLOAD_CHUNK_BYTES):
            yield chunk

    return chunks()


@router.get(CONSOLE + "/imports/{batch_id}")
async def import_progress(request: Request, batch_id: ObjectId, console: ConsoleUser) -> Response:
    """An import's progress (polled while it runs) and, once done, its rejected rows."""
    found = await console.get(f"/goals/imports/{batch_id}")
    batch = found.body if found.ok else None
    rejections = []
    if batch and batch.get("status") != "running" and batch.get("rejected"):
        rejections = (await console.get(f"/goals/imports/{batch_id}/rejections", limit=100)).items()
    return render(
        request,
        "_import_status.html",
        {"batch": batch, "rejections": rejections, "detail": None if found.ok else found.detail},
    )
