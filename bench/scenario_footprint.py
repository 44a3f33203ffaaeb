"""Footprint: cold start of the whole platform (NATS, services, gateway) to all ready, and each process's idle RSS.
Runs first, on the freshly started shared platform."""

from __future__ import annotations

import time

from bench.common import Context, Section
from bench.platform import shared_platform

TITLE = "Footprint: cold start to all ready, idle RSS of each process"


def run(ctx: Context) -> Section:
    section = Section(TITLE)
    platform = shared_platform(ctx)
    time.sleep(2)  # idle
    cold = platform.cold_start_seconds
    section.add("cold start to all /readyz (s)", f"{cold:.1f}", goal="≤ 10 s", met=cold <= 10)
    for name, rss in sorted(platform.rss().items()):
        section.add(f"idle RSS: {name} (MiB)", f"{rss:.0f}", goal="≤ 80 MB", met=rss * 1.048576 <= 80)
    section.notes.append(
        "Processes started together (uvicorn, one worker each, migrations at start-up on empty databases); "
        "RSS read from /proc two seconds after every process answered ready."
    )
    return section
