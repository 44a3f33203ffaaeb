"""SQLAlchemy's aiosqlite adaptation with one hand-off to the connection's thread per statement.

aiosqlite runs every call on the connection's own thread, and each call is a hand-off there and back (a queue put,
a thread wake-up, a future resolved through the event loop's self-pipe). SQLAlchemy's adaptation makes four of
them per statement (open a cursor, execute, fetch all rows, close the cursor), and on a virtual machine each costs
tens of microseconds — a statement that SQLite runs in 2 µs took ~450 µs, and the services' handlers and requests
run a dozen statements each (``bench/findings.md``, "one hand-off per statement"). This cursor does the four in
one function on that thread: open, execute, read the description, rowcount, lastrowid and every row, close.

Everything else is SQLAlchemy's own aiosqlite dialect (``sqlite+aiosqlite`` URLs are unchanged): the connection,
its transactions and server-side (streaming) cursors. ``make_engine`` passes ``module=dbapi()``."""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT, await_


def _run(raw: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> tuple[Any, list[Any], int, Any]:
    """On the connection's thread: the whole of one statement (its cursor never leaves this function)."""
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one call on the connection's thread (rows fetched there at once)."""

    __slots__ = ("_arraysize", "_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection) -> None:  # no cursor opened here
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: Any = None
        self._arraysize = 1

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> Any:
        return self._lastrowid

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _async_soft_close(self) -> None:  # nothing is open between calls
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _call(self, operation: Any, parameters: Any, many: bool) -> None:
        async with self._adapt_connection._execute_mutex:
            connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
            description, rows, rowcount, lastrowid = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection._conn, operation, parameters, many
            )
        self._description, self._rowcount, self._lastrowid = description, rowcount, lastrowid
        self._rows = collections.deque(rows)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        try:
            return await_(self._call(operation, parameters, False))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        try:
            return await_(self._call(operation, seq_of_parameters, True))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def nextset(self) -> None:  # sqlite3 has one result set per statement
        return None

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    _cursor_cls = OneHopCursor  # type: ignore[assignment]


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DB-API of SQLAlchemy whose connections use ``OneHopCursor``."""

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        connection = super().connect(*arg, **kw)  # SQLAlchemy's own (its thread a daemon), then our cursors
        connection.__class__ = OneHopConnection  # same slots: a subclass that only names the cursor class
        return connection  # type: ignore[return-value]


def dbapi() -> OneHopDBAPI:
    """The module object to pass as ``create_async_engine(url, module=dbapi())``."""
    return OneHopDBAPI(aiosqlite, sqlite3)
