"""Console: dashboard and account 360 render times (HTML with their data) on a platform of its own loaded with the
demo data (``kam.demo.load_demo``, as ``make run`` does), measured by ``bench/bench_console.py``."""

from __future__ import annotations

import asyncio
import os

from bench.common import SECRET, Context, Section
from bench.platform import start_platform

TITLE = "Console: dashboard and account 360 render time"


def run(ctx: Context) -> Section:
    from bench.bench_console import run as render_times
    from kam.demo import load_demo

    platform = start_platform(ctx.workdir / "platform-console")
    before = os.environ.get("KAM_GATEWAY_JWT_SECRET")
    os.environ["KAM_GATEWAY_JWT_SECRET"] = SECRET  # the demo loader mints its tokens from the gateway's settings
    try:
        asyncio.run(load_demo(platform.urls))
        # sup-wang exists before the demo runs (the platform creates it), so it keeps the platform's password.
        result = render_times(quick=ctx.quick, base_url=platform.urls["gateway"], password="bench-pass-2026")
    finally:
        if before is None:
            os.environ.pop("KAM_GATEWAY_JWT_SECRET", None)
        else:
            os.environ["KAM_GATEWAY_JWT_SECRET"] = before
        platform.stop()
    section = Section(result.title)
    for label, value in result.rows:
        section.add(label, value, goal="≤ 300 ms")
    section.notes.append(result.notes)
    return section
