"""Spreadsheet exports as Excel on a Chinese Windows opens them: CSV in UTF-8 led by a BOM with CRLF line ends, or
XLSX; no cell a spreadsheet would run as a formula. Also the export of every list: a list route (one taking
``limit`` and ``offset``) asked for ``?format=csv|xlsx`` (or ``Accept: text/csv`` / the XLSX media type) answers
its rows as a file — every page from ``offset`` on up to ``MAX_EXPORT_ROWS`` rows when no ``limit`` is given
(``X-Export-Truncated: true`` when more matched), else the one page asked for. JSON stays the default."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import types
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Union, get_args, get_origin
from urllib.parse import parse_qsl, quote, urlencode
from zoneinfo import ZoneInfo

from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.query_guard import EXPORT_PARAM, is_list_route

BOM = "\ufeff"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
MAX_EXPORT_ROWS = 50_000
LIST_SEPARATOR = "; "
BUSINESS_ZONE = ZoneInfo("Asia/Shanghai")  # the date in a file name is a business date
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


# ---------------------------------------------------------------- writing


def safe_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab or CR) gets a ``'``
    (a plain number written as text, such as ``-12.50``, is left as it is: it cannot be a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_cell(value)


def csv_text(rows: Sequence[Sequence[Any]]) -> str:
    """The rows (the first is the header) as CSV led by a BOM, CRLF line ends; text cells neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_csv_cell(cell) for cell in row])
    return BOM + out.getvalue()


def _xlsx_cell(value: Any, illegal: re.Pattern[str]) -> Any:
    value = safe_cell(value)
    return illegal.sub("", value) if isinstance(value, str) else value


def xlsx_bytes(rows: Sequence[Sequence[Any]], *, sheet: str = "export") -> bytes:
    """The rows as one XLSX sheet (header frozen), numbers as numbers; text cells neutralised."""
    # Imported when a sheet is asked for: openpyxl (and the numpy it loads) would cost every process its memory.
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    page = book.active
    assert page is not None  # a new workbook has its one sheet
    page.title = re.sub(r"[\[\]:*?/\\]", "-", sheet)[:31] or "export"
    for row in rows:
        page.append([_xlsx_cell(cell, ILLEGAL_CHARACTERS_RE) for cell in row])
    page.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def content_disposition(filename: str, *, ascii_fallback: str | None = None) -> str:
    """``attachment`` with an ASCII ``filename`` and, for a non-ASCII name, its RFC 5987 ``filename*``."""
    fallback = ascii_fallback or filename.encode("ascii", "replace").decode().replace("?", "_")
    fallback = fallback.replace('"', "_").replace("\\", "_")
    if filename.isascii() and fallback == filename:
        return f'attachment; filename="{fallback}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


# ---------------------------------------------------------------- a list as a table


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``X``, ``X | None``), else None."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in (Union, types.UnionType):
        models = [m for a in get_args(annotation) if (m := _model_of(a)) is not None]
        return models[0] if len(models) == 1 else None
    return None


def _is_mapping(annotation: Any) -> bool:
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_mapping(a) for a in get_args(annotation))
    return annotation is dict or get_origin(annotation) is dict


def _label(field: Any) -> str | None:
    for text in (field.title, field.description):
        if text and _CJK.search(text) and len(text) <= 40:
            return str(text)
    return None


def model_columns(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    """(path, header) of a model's fields as an item is serialised: nested models flattened ``a.b``; a field whose
    title or short description is in 中文 is headed ``中文 / path``. Mappings are left to the data (their keys)."""
    columns: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        path = prefix + (field.serialization_alias or field.alias or name)
        nested = _model_of(field.annotation)
        if nested is not None:
            columns.extend(model_columns(nested, path + "."))
        elif not _is_mapping(field.annotation):
            label = _label(field)
            columns.append((path, f"{label} / {path}" if label else path))
    return columns


def item_model(route: APIRoute) -> type[BaseModel] | None:
    """The item model of a route answering ``Page[X]`` (or any model with ``items: list[X]``)."""
    page = _model_of(route.response_model)
    field = page.model_fields.get("items") if page is not None else None
    args = get_args(field.annotation) if field is not None else ()
    return _model_of(args[0]) if args else None


def flatten(value: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    """An item as ``path → cell``: objects flattened ``a.b``, lists joined with ``; ``."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten(inner, f"{prefix}{key}.", out)
        if not value and prefix:
            out[prefix[:-1]] = None
        return out
    if isinstance(value, list):
        value = LIST_SEPARATOR.join(
            v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value if v is not None
        )
    out[prefix[:-1]] = value
    return out


def table(items: Sequence[Any], columns: Sequence[tuple[str, str]] = ()) -> list[list[Any]]:
    """The header and one row per item: the model's columns first (so an empty list still has its header), then
    every other path the items have, in the order first seen."""
    flat = [flatten(item) if isinstance(item, dict) else {"value": item} for item in items]
    known = dict(columns)
    order = [path for path, _ in columns]
    for row in flat:
        for path in row:
            if path not in known:
                known[path] = path
                order.append(path)
    return [[known[p] for p in order], *[[row.get(p) for p in order] for row in flat]]


# ---------------------------------------------------------------- the export of every list


def requested_format(scope: Scope) -> str | None:
    """``csv`` or ``xlsx`` when the request asks for a file (``format``, else ``Accept``), else None."""
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    given = [v for k, v in query if k == EXPORT_PARAM]
    if given:
        return given[-1] if given[-1] in ("csv", "xlsx") else None
    accept = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"accept"), "")
    best_quality, best = 0.0, None
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        kind = {"text/csv": "csv", XLSX_MEDIA_TYPE: "xlsx", "application/json": "json"}.get(media.strip().lower())
        quality = 1.0
        for param in params.split(";"):
            key, _, number = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        if kind is not None and quality > best_quality:  # a tie goes to the first named
            best_quality, best = quality, kind
    return best if best in ("csv", "xlsx") else None


def _max_limit(route: Any) -> int | None:
    stack = [route.dependant] if isinstance(route, APIRoute) else []
    while stack:
        dependant = stack.pop()
        for param in dependant.query_params:
            if param.alias == "limit":
                bounds = [getattr(m, "le", None) for m in param.field_info.metadata]
                return next((int(b) for b in bounds if b is not None), None)
        stack.extend(dependant.dependencies)
    return None


def _filename(route: APIRoute, kind: str, today: date) -> tuple[str, str]:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", re.sub(r"\{[^}]*\}", "", route.path)).strip("-") or "export"
    shown = f"{route.summary}-{today:%Y%m%d}.{kind}" if route.summary and _CJK.search(route.summary) else None
    ascii_name = f"{stem}-{today:%Y%m%d}.{kind}"
    return shown or ascii_name, ascii_name


class _Captured:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def header(self, name: bytes) -> str:
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == name), "")

    async def replay(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _page_of(captured: _Captured) -> dict[str, Any] | None:
    if captured.status != 200 or not captured.header(b"content-type").startswith("application/json"):
        return None
    try:
        page = json.loads(bytes(captured.body))
    except ValueError:
        return None
    if isinstance(page, dict) and isinstance(page.get("items"), list) and isinstance(page.get("total"), int):
        return page
    return None


class ListExportMiddleware:
    """Answers a list route's page (JSON ``{items, total, limit, offset}``) as CSV or XLSX when asked; anything else
    (not a list, an error, a proxied answer already a file) passes through unchanged."""

    def __init__(self, app: ASGIApp, *, max_rows: int = MAX_EXPORT_ROWS) -> None:
        self.app = app
        self.max_rows = max_rows

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = requested_format(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        first_scope = {k: dict(v) if isinstance(v, dict) else v for k, v in scope.items()}
        first = _Captured()
        await self.app(first_scope, receive, first.send)
        route = first_scope.get("route")
        page = _page_of(first)
        if page is None or not isinstance(route, APIRoute) or not is_list_route(route):
            await first.replay(send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        items, total = list(page["items"]), int(page["total"])
        offset = int(page.get("offset") or 0) + len(items)
        step = _max_limit(route) or int(page.get("limit") or len(items) or 1)
        explicit = any(k == "limit" for k, _ in query)
        while not explicit and len(items) < self.max_rows and offset < total:
            rest = [(k, v) for k, v in query if k not in ("limit", "offset")]
            size = min(step, self.max_rows - len(items))
            more_scope = {k: dict(v) if isinstance(v, dict) else v for k, v in scope.items()}
            more_scope["query_string"] = urlencode([*rest, ("limit", size), ("offset", offset)]).encode()
            more = _Captured()
            await self.app(more_scope, _no_body, more.send)
            more_page = _page_of(more)
            if more_page is None:
                await more.replay(send)
                return
            if not more_page["items"]:
                break
            items.extend(more_page["items"])
            offset += len(more_page["items"])
            total = int(more_page["total"])
        await self._answer(send, route, kind, items, total=total, explicit=explicit, start=int(page.get("offset") or 0))

    async def _answer(
        self, send: Send, route: APIRoute, kind: str, items: list[Any], *, total: int, explicit: bool, start: int
    ) -> None:
        model = item_model(route)
        rows = table(items, model_columns(model) if model is not None else ())
        if kind == "csv":
            body, media = csv_text(rows).encode("utf-8"), CSV_MEDIA_TYPE
        else:
            body = await asyncio.to_thread(xlsx_bytes, rows, sheet=route.name)
            media = XLSX_MEDIA_TYPE
        shown, ascii_name = _filename(route, kind, datetime.now(BUSINESS_ZONE).date())
        truncated = not explicit and start + len(items) < total
        headers = [
            (b"content-type", media.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"content-disposition", content_disposition(shown, ascii_fallback=ascii_name).encode("latin-1")),
            (b"x-total-count", str(total).encode()),
            (b"x-export-rows", str(len(items)).encode()),
            (b"x-export-truncated", b"true" if truncated else b"false"),
            (b"cache-control", b"no-store"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- documenting it


def document_list_export(document: dict[str, Any]) -> dict[str, Any]:
    """Declare ``format`` and the CSV/XLSX answers on every GET operation taking ``limit`` and ``offset``."""
    for item in document.get("paths", {}).values():
        operation = item.get("get")
        if not isinstance(operation, dict):
            continue
        params = operation.setdefault("parameters", [])
        names = {p.get("name") for p in params if p.get("in") == "query"}
        if not {"limit", "offset"} <= names or EXPORT_PARAM in names:
            continue
        params.append(
            {
                "name": EXPORT_PARAM,
                "in": "query",
                "required": False,
                "description": (
                    "json (default), or the list as a file: csv (UTF-8 with BOM) or xlsx — every row from offset "
                    f"on (up to {MAX_EXPORT_ROWS:,}) unless limit is given; also by Accept"
                ),
                "schema": {"type": "string", "enum": ["json", "csv", "xlsx"], "default": "json"},
            }
        )
        content = operation.setdefault("responses", {}).setdefault("200", {}).setdefault("content", {})
        content.setdefault("text/csv", {"schema": {"type": "string"}})
        content.setdefault(XLSX_MEDIA_TYPE, {"schema": {"type": "string", "format": "binary"}})
    return document
