"""Driver errors of a database that cannot take writes answer 503 with Retry-After; other driver errors stay 500."""

from __future__ import annotations

import sqlite3

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.exc import DBAPIError

from shared.errors import DATABASE_RETRY_AFTER_SECONDS, install_error_handlers


class PostgresError(Exception):
    """Stands in for SQLAlchemy's asyncpg adapter error: it carries the server's SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _app(error: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/write")
    async def write() -> None:
        raise DBAPIError.instance("INSERT INTO t VALUES (1)", None, error, Exception)

    return app


async def _status(error: Exception) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(error), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/write")


@pytest.mark.parametrize(
    "error",
    [
        PostgresError("cannot execute INSERT in a read-only transaction", "25006"),
        PostgresError("terminating connection due to administrator command", "57P01"),
        PostgresError("connection failure", "08006"),
        sqlite3.OperationalError("attempt to write a readonly database"),
    ],
    ids=["pg-read-only", "pg-terminated", "pg-connection-failure", "sqlite-read-only"],
)
async def test_a_database_that_cannot_take_the_write_answers_503_with_retry_after(error):
    response = await _status(error)
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.json()["type"].endswith("/database-unavailable")


async def test_any_other_driver_error_is_still_a_500():
    response = await _status(PostgresError('relation "t" does not exist', "42P01"))
    assert response.status_code == 500
    assert "retry-after" not in response.headers
