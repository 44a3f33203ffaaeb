"""Streaming CSV import of sales lines: validates row by row, inserts in batches, idempotent by batch id.

The file is read in chunks (never whole): memory stays flat in file size. Each row is validated without pydantic
and summed into its aggregate cell as it is parsed (in a worker thread, while the previous chunk is written); a
chunk is written with one driver-level executemany (SQLite) or one COPY (PostgreSQL) and one upsert per cell.
Progress (rows done of total, rejected so far) is committed after every chunk, so the API and ``kam import`` can
show it. At the end the import publishes one ``goals.actuals_imported`` per account touched (the new totals of each
month it touched), re-tracks those accounts' targets once, and reports product lines the catalogue does not name.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.goals.actuals.account_codes import code_map
from services.goals.actuals.aggregates import Sums, apply_line_deltas, apply_sums, void_lines
from services.goals.actuals.conversion import CONVERSION_COLUMNS, convert_line, foreign_pair
from services.goals.actuals.figures import sales_cells, totals_by_account_month
from services.goals.actuals.models import ImportBatch, ImportRejection, SalesRecord
from services.goals.actuals.schemas import return_sign_problem
from services.goals.catalogue.models import ProductLine
from services.goals.config import GoalsSettings
from services.goals.currencies.models import AccountCurrency
from services.goals.currencies.service import load_rates
from services.goals.fx import RateBook
from services.goals.models import platform
from services.goals.targets.tracking import evaluate_accounts
from shared.bus import Publisher
from shared.clock import Clock
from shared.db import Database, is_sqlite
from shared.errors import Conflict, Unprocessable
from shared.events import ActualsImported
from shared.events.catalogue import ActualsImportedData, ActualsRecordedData
from shared.money import CURRENCY_CODES

log = logging.getLogger("kam.goals.import")
# A running import that has shown no progress for this long is taken for dead: restart=true may run it again.
IMPORT_STALE_AFTER = timedelta(minutes=2)

COLUMNS = ("account_id", "date", "product_line", "region", "quantity", "revenue", "cost", "currency")
# Headers as Chinese spreadsheet exports name them.
ALIASES = {
    "客户id": "account_id",
    "客户编号": "account_id",
    "客户": "account_id",
    "日期": "date",
    "销售日期": "date",
    "产品线": "product_line",
    "区域": "region",
    "地区": "region",
    "数量": "quantity",
    "销售额": "revenue",
    "收入": "revenue",
    "成本": "cost",
    "币种": "currency",
    "货币": "currency",
}
REQUIRED = ("account_id", "date", "product_line", "revenue", "cost")
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")

Progress = Callable[[dict[str, Any]], Awaitable[None] | None]


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (BOM), ``utf-8``, or ``gb18030`` (a superset of GBK), from the whole file: a GBK character
    far down a file that starts in plain ASCII still makes it GBK (read 1 MiB at a time, stopping at the first
    byte that is not UTF-8)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as f:
        head = f.read(1 << 20)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk, final=False)  # a multi-byte character cut at a chunk's end is not an error
                chunk = f.read(1 << 20)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "gb18030"
    return "utf-8"


def count_rows(path: Path) -> int:
    """Data rows of a CSV file (lines after the header; quoted line breaks make this an upper bound)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(lines - 1, 0)


_NUMBER = re.compile(r"^-?\d{1,14}(?:\.\d{1,4})?$")


def _decimal(text: str, name: str, *, required: bool, non_negative: bool) -> Decimal | None:
    text = text.strip()
    if not text:
        if required:
            raise ValueError(f"{name} is empty")
        return None
    if not _NUMBER.match(text):
        text = text.replace(",", "")  # thousands separators as spreadsheets write them
        if not _NUMBER.match(text):
            try:
                Decimal(text)
            except InvalidOperation as exc:
                raise ValueError(f"{name} {text!r} is not a number") from exc
            if re.match(r"^-?\d{1,14}\.\d{5,}$", text):
                raise ValueError(f"{name} {text!r} has more than 4 decimal places")
            raise ValueError(f"{name} {text!r} is out of range or not a plain decimal")
    if non_negative and text[0] == "-":
        raise ValueError(f"{name} {text!r} is negative")
    return Decimal(text)


def _date(text: str) -> date:
    text = text.strip()
    if len(text) == 10 and text[4] == "-":
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    m = _DATE.match(text)
    if not m:
        raise ValueError(f"date {text!r} is not YYYY-MM-DD")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise ValueError(f"date {text!r} does not exist") from exc


def parse_column_mapping(text: str | None) -> dict[str, str]:
    """``"客户编码:account_id,金额:revenue"`` → {file header: column}; 422 naming ``columns`` when malformed."""
    mapping: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        header, sep, column = part.rpartition(":")
        if not sep or not header.strip() or column.strip() not in COLUMNS:
            raise Unprocessable(
                f"columns: {part.strip()!r} is not 'your header:column' with column one of {', '.join(COLUMNS)}",
                field="columns",
            )
        mapping[header.strip().lstrip("\ufeff")] = column.strip()
    return mapping


def header_index(header: list[str], columns: Mapping[str, str] | None = None) -> dict[str, int]:
    """Column positions by canonical name (``columns`` maps the file's own headers first); raises Unprocessable
    when required columns are missing."""
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        own = name.strip().lstrip("\ufeff")
        key = own.lower().replace(" ", "_")
        key = (columns or {}).get(own) or ALIASES.get(key, key)
        if key in COLUMNS and key not in index:
            index[key] = i
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise Unprocessable(f"CSV header lacks column(s): {', '.join(missing)}", field="file")
    return index


MAX_REMEMBERED_DAYS = 20_000  # distinct date cells parsed once each (a decade of days, in every spelling)


class RowParser:
    """Validates rows of one file (column positions resolved once: this runs for every row, without pydantic)."""

    def __init__(self, index: dict[str, int], width: int, known_accounts: dict[str, tuple[str, str]]) -> None:
        self.width = width
        self.known = known_accounts  # account id, ERP code or credit code → (account id, its reporting currency)
        self.account = index["account_id"]
        self.date = index["date"]
        self.line = index["product_line"]
        self.region = index.get("region")
        self.quantity = index.get("quantity")
        self.revenue = index["revenue"]
        self.cost = index["cost"]
        self.currency = index.get("currency")
        self.days: dict[str, tuple[date, str]] = {}  # date cell as written → (date, month)

    def parse(self, fields: list[str]) -> tuple[Any, ...]:
        """A validated sales row as ``(account_id, sale_date, month, product_line, region, quantity, revenue, cost,
        reporting currency, given currency or None)``, amounts as ``(Decimal, text)`` pairs (quantity None when
        not given); ValueError with the reason."""
        if len(fields) != self.width:
            raise ValueError(f"expected {self.width} columns, found {len(fields)}")
        key = fields[self.account].strip()
        known = self.known.get(key)
        if known is None:
            if "\ufffd" in "".join(fields):
                raise ValueError("contains characters that are not valid in the file's encoding")
            raise ValueError("account_id is empty" if not key else f"unknown account {key!r}")
        account_id, reporting = known
        text = fields[self.date]
        day = self.days.get(text)
        if day is None:
            day = self._day(text)
        sale_date, month = day
        product_line = fields[self.line].strip()
        if not product_line:
            raise ValueError("product_line is empty")
        if len(product_line) > 100:
            raise ValueError("product_line is longer than 100 characters")
        region = fields[self.region].strip()[:100] if self.region is not None else ""
        if "\ufffd" in product_line or "\ufffd" in region:
            raise ValueError("contains characters that are not valid in the file's encoding")
        quantity = _amount(fields[self.quantity], "quantity", required=False) if self.quantity is not None else None
        revenue = _amount(fields[self.revenue], "revenue", required=True)
        cost = _amount(fields[self.cost], "cost", required=True)
        assert revenue is not None and cost is not None
        if (quantity is not None and quantity[0] < 0) or cost[0] < 0:
            if (problem := return_sign_problem(quantity and quantity[0], revenue[0], cost[0])) is not None:
                raise ValueError(problem)
        given = None
        if self.currency is not None:
            given = fields[self.currency].strip() or None
            if given == reporting:
                given = None
            elif given is not None and given not in CURRENCY_CODES:
                raise ValueError(f"currency {given!r} is not an ISO 4217 currency code (e.g. CNY, USD)")
        return (account_id, sale_date, month, product_line, region or None, quantity, revenue, cost, reporting, given)

    def _day(self, text: str) -> tuple[date, str]:
        """A date cell as (date, its month): a file names few distinct days, so each is parsed once (ValueError)."""
        clean = text.strip()
        if len(clean) == 10 and clean[4] == "-" and clean[7] == "-" and clean[:4].isdigit():
            try:
                sale_date = date.fromisoformat(clean)
            except ValueError:
                sale_date = _date(clean)
        else:
            sale_date = _date(clean)
        day = (sale_date, f"{sale_date.year:04d}-{sale_date.month:02d}")
        if len(self.days) < MAX_REMEMBERED_DAYS:
            self.days[text] = day
        return day

    def __call__(self, fields: list[str]) -> dict[str, Any]:
        """A validated sales row as a dict (``original_currency`` set when given in another currency than the account
        reports in: it still needs converting) or ValueError with the reason."""
        account_id, sale_date, month, line, region, quantity, revenue, cost, reporting, given = self.parse(fields)
        row = {
            "account_id": account_id,
            "sale_date": sale_date,
            "month": month,
            "product_line": line,
            "region": region,
            "quantity": None if quantity is None else quantity[0],
            "revenue": revenue[0],
            "cost": cost[0],
            "currency": reporting,
        }
        if given is not None:
            row["original_currency"] = given
        return row


def _amount(text: str, name: str, *, required: bool) -> tuple[Decimal, str] | None:
    """A decimal cell as (value, canonical text) — the text as SQLite stores it from the value — or None (empty)."""
    text = text.strip()
    if text and _NUMBER.match(text):
        return Decimal(text), text
    value = _decimal(text, name, required=required, non_negative=False)
    return None if value is None else (value, str(value))


@dataclass
class ParsedChunk:
    """Rows accepted and refused in one stretch of the file.

    ``lines`` are ready for the driver (in ``_SALES_COLUMNS`` order: text values for SQLite, typed for PostgreSQL's
    COPY) and ``cells`` are their sums per aggregate cell, kept while parsing; ``foreign`` rows (with their raw
    text) were given in another currency than their account reports in and are converted, or refused, per chunk
    (then written as ``rows``)."""

    lines: list[tuple[Any, ...]]
    cells: Sums
    rejections: list[dict[str, Any]]
    foreign: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.lines) + len(self.rows)

    def settle_foreign(self, book: RateBook) -> None:
        """Convert the foreign rows with rates already in ``book``; a row without a rate becomes a rejection."""
        for row, raw in self.foreign:
            try:
                convert_line(row, book)
            except ValueError as exc:
                self.rejections.append(
                    {"batch_id": row["batch_id"], "line_no": row["line_no"], "reason": str(exc), "raw": raw}
                )
            else:
                self.rows.append(row)
        self.foreign = []

    def pairs(self) -> set[tuple[str, str]]:
        """The account-months the chunk's accepted rows touch."""
        out = {(k[0], k[1]) for k in self.cells}
        out.update((r["account_id"], r["month"]) for r in self.rows)
        return out

    def line_counts(self) -> Counter[str]:
        """Accepted rows per product line."""
        counts: Counter[str] = Counter()
        for key, sums in self.cells.items():
            counts[key[2]] += sums[4]
        for row in self.rows:
            counts[row["product_line"]] += 1
        return counts


class _ChunkBuilder:
    """One chunk being parsed: accepted rows as driver-ready tuples summed into their cells as they come."""

    def __init__(self, batch_id: str, *, text_values: bool) -> None:
        self.batch_id, self.text_values = batch_id, text_values
        self._start()

    def _start(self) -> None:
        self.lines: list[tuple[Any, ...]] = []
        self.cells: Sums = {}
        self.rejections: list[dict[str, Any]] = []
        self.foreign: list[tuple[dict[str, Any], str]] = []

    def take(self) -> ParsedChunk:
        """The chunk so far; the builder starts a new one."""
        chunk = ParsedChunk(self.lines, self.cells, self.rejections, self.foreign)
        self._start()
        return chunk

    def reject(self, line_no: int, reason: str, raw: str | None) -> None:
        self.rejections.append({"batch_id": self.batch_id, "line_no": line_no, "reason": reason, "raw": raw})

    def accept(self, parsed: tuple[Any, ...], line_no: int, fields: list[str]) -> None:
        account_id, sale_date, month, line, region, quantity, revenue, cost, currency, given = parsed
        if given is not None:
            row = {
                "account_id": account_id,
                "sale_date": sale_date,
                "month": month,
                "product_line": line,
                "region": region,
                "quantity": None if quantity is None else quantity[0],
                "revenue": revenue[0],
                "cost": cost[0],
                "currency": currency,
                "original_currency": given,
                "batch_id": self.batch_id,
                "line_no": line_no,
            }
            self.foreign.append((row, ",".join(fields)[:500]))
            return
        at = 1 if self.text_values else 0  # (Decimal, text): SQLite is given the text, COPY the value
        self.lines.append(
            (
                account_id,
                sale_date.isoformat() if self.text_values else sale_date,
                month,
                line,
                region,
                None if quantity is None else quantity[at],
                revenue[at],
                cost[at],
                currency,
                self.batch_id,
                line_no,
            )
        )
        key = (account_id, month, line, region or "", currency)
        sums = self.cells.get(key)
        if sums is None:
            sums = self.cells[key] = [_ZERO, _ZERO, _ZERO, 0, 0]
        sums[0] += revenue[0]
        sums[1] += cost[0]
        if quantity is not None:
            sums[2] += quantity[0]
            sums[3] += 1
        sums[4] += 1


_ZERO = Decimal(0)


def iter_chunks(
    path: Path,
    *,
    encoding: str,
    known_accounts: dict[str, tuple[str, str]],
    batch_id: str,
    batch_size: int,
    columns: Mapping[str, str] | None = None,
    text_values: bool = True,
) -> Iterator[ParsedChunk]:
    """Parse the file lazily, ``batch_size`` data rows at a time; each accepted row is summed into its cell as it is
    parsed (``text_values``: amounts and dates as the text SQLite stores, else typed values for COPY)."""
    with path.open("r", encoding=encoding, errors="replace", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise Unprocessable("the CSV file is empty", field="file")
        parse = RowParser(header_index(header, columns), len(header), known_accounts).parse
        chunk = _ChunkBuilder(batch_id, text_values=text_values)
        seen = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                chunk.reject(reader.line_num, f"malformed CSV: {exc}", None)
                seen += 1
                continue
            line_no = reader.line_num
            if not fields or not "".join(fields).strip():
                continue
            seen += 1
            try:
                parsed = parse(fields)
            except ValueError as exc:
                chunk.reject(line_no, str(exc), ",".join(fields)[:500])
            else:
                chunk.accept(parsed, line_no, fields)
            if seen >= batch_size:
                yield chunk.take()
                seen = 0
        yield chunk.take()


def batch_view(batch: ImportBatch | dict[str, Any]) -> dict[str, Any]:
    """An import batch as the API shows it."""
    data = (
        dict(batch) if isinstance(batch, dict) else {c: getattr(batch, c) for c in ImportBatch.__table__.columns.keys()}
    )
    total = data["total_rows"] or 0
    done = data["rows_done"] or 0
    pct = Decimal(100) if data["status"] == "completed" else (Decimal(done * 100) / total if total else Decimal(0))
    data["progress_pct"] = min(pct, Decimal(100)).quantize(Decimal("0.01"))
    return data


_SALES_COLUMNS = (
    "account_id",
    "sale_date",
    "month",
    "product_line",
    "region",
    "quantity",
    "revenue",
    "cost",
    "currency",
    "batch_id",
    "line_no",
)


def _text(value: Any) -> str | None:
    """A NUMERIC or DATE as SQLite stores it from text (exactly as the ORM would)."""
    if value is None:
        return None
    return value.isoformat() if isinstance(value, date) else str(value)


async def bulk_insert_sales(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert validated rows with one driver-level executemany per shape (plain lines, and lines converted from
    another currency with their conversion columns): no per-row ORM or type processing. The pre-aggregated
    sums take the rows in the same transaction."""
    plain = [r for r in rows if r.get("original_currency") is None]
    converted = [r for r in rows if r.get("original_currency") is not None]
    for group, columns in ((plain, _SALES_COLUMNS), (converted, _SALES_COLUMNS + CONVERSION_COLUMNS)):
        if group:
            await _insert_group(session, group, columns)
    await apply_line_deltas(session, rows)


async def _insert_group(session: AsyncSession, rows: list[dict[str, Any]], columns: tuple[str, ...]) -> None:
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        params: list[tuple[Any, ...]] = [
            (
                r["account_id"],
                r["sale_date"].isoformat(),
                r["month"],
                r["product_line"],
                r["region"],
                None if r["quantity"] is None else str(r["quantity"]),
                str(r["revenue"]),
                str(r["cost"]),
                r["currency"],
                r["batch_id"],
                r["line_no"],
                *(_text(r[c]) for c in columns[len(_SALES_COLUMNS) :]),
            )
            for r in rows
        ]
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO sales_records ({', '.join(columns)}) VALUES ({placeholders})"  # noqa: S608
        await conn.exec_driver_sql(sql, params)
        return
    await conn.execute(insert(SalesRecord.__table__), [{c: r[c] for c in columns} for r in rows])  # type: ignore[arg-type]


# SQLite's page cache while a chunk is written (KiB): the lines' (account, month) index takes rows all over its
# B-tree, and with the default 2 MiB cache its dirty pages spill into the WAL again and again within one chunk.
IMPORT_PAGE_CACHE_KIB = 96 * 1024


@asynccontextmanager
async def _roomy_page_cache(session: AsyncSession) -> AsyncIterator[None]:
    """On SQLite, a page cache large enough for one chunk's dirty index pages, given back afterwards (the pooled
    connection returns to its own size, freeing the pages)."""
    conn = await session.connection()
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int((await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one())
    await conn.exec_driver_sql(f"PRAGMA cache_size = -{IMPORT_PAGE_CACHE_KIB}")
    try:
        yield
    finally:
        await conn.exec_driver_sql(f"PRAGMA cache_size = {before}")


async def write_lines(session: AsyncSession, lines: list[tuple[Any, ...]], cells: Sums) -> None:
    """Write parsed lines (``_SALES_COLUMNS`` order) and add their per-cell sums to the aggregates, in the caller's
    transaction: SQLite gets one driver-level executemany of text values, PostgreSQL one COPY
    (``copy_records_to_table``); the aggregates one upsert per cell."""
    if lines:
        conn = await session.connection()
        if conn.dialect.name == "sqlite":
            placeholders = ", ".join("?" for _ in _SALES_COLUMNS)
            sql = f"INSERT INTO sales_records ({', '.join(_SALES_COLUMNS)}) VALUES ({placeholders})"  # noqa: S608
            await conn.exec_driver_sql(sql, lines)
        else:
            await conn.exec_driver_sql("SELECT 1")  # the transaction is begun before COPY runs on its connection
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.copy_records_to_table("sales_records", records=lines, columns=list(_SALES_COLUMNS))
    await apply_sums(session, cells)


async def start_batch(
    session: AsyncSession,
    *,
    batch_id: str,
    filename: str | None,
    actor_id: str,
    now: datetime,
    restart: bool = False,
    content_sha256: str | None = None,
    stale_after: timedelta = IMPORT_STALE_AFTER,
) -> tuple[ImportBatch, bool]:
    """Claim a batch id: (batch, True) to run it, or (existing completed batch, False) — a re-import adds nothing.

    A running batch is restarted only when it has shown no progress for ``stale_after`` (its worker died): one
    that is still making progress is a 409, so two workers never import the same file at once."""
    batch = await session.get(ImportBatch, batch_id)
    if batch is not None:
        if batch.status == "completed":
            return batch, False
        if batch.status == "running":
            quiet = now - (batch.heartbeat_at or batch.created_at)
            if not restart or quiet < stale_after:
                raise Conflict(
                    f"import {batch_id} is still running (last progress {int(quiet.total_seconds())} s ago); "
                    f"restart=true runs it again only after {int(stale_after.total_seconds())} s without progress",
                    batch_id=batch_id,
                )
        # A failed or abandoned attempt: drop what it left and start over.
        await void_lines(session, SalesRecord.batch_id == batch_id)
        await session.execute(delete(ImportRejection).where(ImportRejection.batch_id == batch_id))
        await session.delete(batch)
        await session.flush()
    batch = ImportBatch(
        batch_id=batch_id,
        status="running",
        filename=filename,
        total_rows=0,
        rows_done=0,
        accepted=0,
        rejected=0,
        account_months=0,
        created_by=actor_id,
        created_at=now,
        heartbeat_at=now,
        content_sha256=content_sha256,
    )
    session.add(batch)
    await session.flush()
    return batch, True


async def known_accounts(
    session: AsyncSession, *, visible_to: str | None, settings: GoalsSettings
) -> dict[str, tuple[str, str]]:
    """What rows may name an account by (for an account manager: only their accounts) — its id, ERP codes and credit
    code (actuals/account_codes.py) — with the account id and its reporting currency: one lookup per row."""
    accounts, access = platform.accounts, platform.account_access
    if visible_to is None:
        ids = set(await session.scalars(select(accounts.c.account_id)))
    else:
        ids = set(await session.scalars(select(access.c.account_id).where(access.c.user_id == visible_to)))
    rows = await session.execute(select(AccountCurrency.account_id, AccountCurrency.currency))
    own = {account_id: currency for account_id, currency in rows}
    known = {account_id: (account_id, own.get(account_id, settings.reporting_currency)) for account_id in ids}
    for code, account_id in (await code_map(session, ids)).items():
        known.setdefault(code, known[account_id])  # an id wins over a code that spells it
    return known


@dataclass
class Written:
    """What the chunks written so far touched: account-months, rows done and accepted rows per product line."""

    pairs: set[tuple[str, str]] = field(default_factory=set)
    done: int = 0
    lines: Counter[str] = field(default_factory=Counter)


async def _write_chunks(
    db: Database,
    chunks: Iterator[ParsedChunk],
    *,
    batch_id: str,
    total: int,
    clock: Clock,
    progress: Progress | None,
) -> Written:
    """Write the parsed chunks, one transaction each (progress and heartbeat with it)."""
    written = Written()
    accepted = rejected = 0
    book = RateBook()  # the rates of the currencies met so far, loaded once per chunk that meets new ones
    # Parse the next chunk in a worker thread while this one is written: the event loop stays free for
    # other requests and parsing overlaps with the database driver's work.
    upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
    while (chunk := await upcoming) is not None:
        upcoming = asyncio.ensure_future(asyncio.to_thread(next, chunks, None))
        async with db.transaction() as session:
            if chunk.foreign:
                await load_rates(session, book, {foreign_pair(r) for r, _ in chunk.foreign})
                chunk.settle_foreign(book)
            written.done += chunk.accepted + len(chunk.rejections)
            accepted += chunk.accepted
            rejected += len(chunk.rejections)
            written.pairs |= chunk.pairs()
            written.lines.update(chunk.line_counts())
            await session.execute(
                update(ImportBatch)
                .where(ImportBatch.batch_id == batch_id)
                .values(
                    rows_done=written.done,
                    accepted=accepted,
                    rejected=rejected,
                    total_rows=max(total, written.done),
                    heartbeat_at=clock.now(),
                )
            )
            async with _roomy_page_cache(session):
                await write_lines(session, chunk.lines, chunk.cells)
            if chunk.rows:
                await bulk_insert_sales(session, chunk.rows)
            if chunk.rejections:
                await session.execute(insert(ImportRejection), chunk.rejections)
        if progress is not None:
            outcome = progress(
                {"rows_done": written.done, "total_rows": max(total, written.done), "rejected": rejected}
            )
            if outcome is not None:
                await outcome
    return written


async def unknown_line_warnings(
    session: AsyncSession, counts: Mapping[str, int], *, settings: GoalsSettings
) -> list[dict[str, Any]]:
    """The product lines of an import that the catalogue does not name (the setting's and the API's, retired ones
    included), with how many rows named each: imported all the same, reported as warnings."""
    known = set(settings.product_lines) | set(await session.scalars(select(ProductLine.name)))
    return [
        {
            "product_line": line,
            "rows": int(rows),
            "message": f"产品线 {line!r} 不在产品目录中 / product line {line!r} is not in the catalogue ({rows} rows)",
        }
        for line, rows in sorted(counts.items())
        if line not in known
    ]


# An account's months per ``goals.actuals_imported`` (the event stays far below the bus's message size limit).
MONTHS_PER_EVENT = 120
_ACCOUNTS_PER_READ = 500


async def publish_imported(
    session: AsyncSession, *, pairs: set[tuple[str, str]], publisher: Publisher, batch_id: str
) -> int:
    """Publish ``goals.actuals_imported`` once per account the import touched (not per account-month), carrying the
    new totals of each month it touched; returns how many events were published. Accounts are read a slice at a
    time, so memory stays flat in the number of accounts."""
    months_of: dict[str, set[str]] = {}
    for account_id, month in pairs:
        months_of.setdefault(account_id, set()).add(month)
    accounts = sorted(months_of)
    published = 0
    for start in range(0, len(accounts), _ACCOUNTS_PER_READ):
        chunk = accounts[start : start + _ACCOUNTS_PER_READ]
        months = set().union(*(months_of[a] for a in chunk))
        totals = totals_by_account_month(await sales_cells(session, account_ids=chunk, months=months))
        events: list[tuple[str | None, ActualsImportedData]] = []
        for account_id in chunk:
            entries = [
                ActualsRecordedData(period=month, batch_id=batch_id, **totals[(account_id, month)])
                for month in sorted(months_of[account_id])
                if (account_id, month) in totals
            ]
            for first in range(0, len(entries), MONTHS_PER_EVENT):
                events.append(
                    (
                        account_id,
                        ActualsImportedData(batch_id=batch_id, months=entries[first : first + MONTHS_PER_EVENT]),
                    )
                )
        await publisher.publish_many(session, ActualsImported, events)
        published += len(events)
    return published


async def run_import(
    db: Database,
    *,
    batch_id: str,
    path: Path,
    settings: GoalsSettings,
    clock: Clock,
    publisher: Publisher,
    visible_to: str | None = None,
    encoding: str | None = None,
    progress: Progress | None = None,
    columns: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Import a claimed batch from ``path``; commits per chunk; at the end publishes one ``goals.actuals_imported``
    per account touched, re-tracks the targets of those accounts once and reports product lines the catalogue
    does not name as warnings."""
    try:
        enc = encoding if encoding is not None else await asyncio.to_thread(detect_encoding, path)
        total = await asyncio.to_thread(count_rows, path)
        async with db.transaction() as session:
            accounts = await known_accounts(session, visible_to=visible_to, settings=settings)
            await session.execute(
                update(ImportBatch)
                .where(ImportBatch.batch_id == batch_id)
                .values(total_rows=total, encoding="gbk" if enc == "gb18030" else enc)
            )
        chunks = iter_chunks(
            path,
            encoding=enc,
            known_accounts=accounts,
            batch_id=batch_id,
            batch_size=settings.import_batch_size,
            columns=columns,
            text_values=is_sqlite(db.url),
        )
        written = await _write_chunks(db, chunks, batch_id=batch_id, total=total, clock=clock, progress=progress)
        pairs = written.pairs
        async with db.transaction() as session:
            await publish_imported(session, pairs=pairs, publisher=publisher, batch_id=batch_id)
            await evaluate_accounts(
                session, account_ids={a for a, _ in pairs}, settings=settings, publisher=publisher, now=clock.now()
            )
            warnings = await unknown_line_warnings(session, written.lines, settings=settings)
            await session.execute(
                update(ImportBatch)
                .where(ImportBatch.batch_id == batch_id)
                .values(
                    status="completed",
                    account_months=len(pairs),
                    total_rows=written.done,
                    finished_at=clock.now(),
                    warnings=warnings,
                )
            )
    except Exception as exc:
        log.exception("import failed", extra={"batch_id": batch_id})
        detail = exc.detail if isinstance(exc, Unprocessable) else f"{type(exc).__name__}: {exc}"
        async with db.transaction() as session:
            await session.execute(
                update(ImportBatch)
                .where(ImportBatch.batch_id == batch_id)
                .values(status="failed", error=detail[:4000], finished_at=clock.now())
            )
    async with db.transaction() as session:
        batch = await session.get(ImportBatch, batch_id)
        assert batch is not None
        return batch_view(batch)
