"""The bare baseline: a FastAPI app answering the same JSON document the way the gateway does (orjson bytes in a
plain ``Response``), run under the same uvicorn settings."""

from __future__ import annotations

import os
from typing import Any

import orjson
from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    with open(os.environ["BENCH_BODY_FILE"], "rb") as f:
        document: Any = orjson.loads(f.read())
    app = FastAPI()

    @app.get("/bare")
    async def bare() -> Response:
        return Response(orjson.dumps(document), media_type="application/json")

    return app
