"""Run the benchmark scenarios (``bench/scenario_*.py``, one each) and write the report.

``python -m bench`` runs every scenario at full sizes and writes docs/BENCHMARKS.md; ``--quick`` runs them at small
sizes (proving each runs; figures not for the record) and writes var/bench-quick.md instead; ``--only a,b`` picks
scenarios; ``--postgres URL`` adds the PostgreSQL rows (a server URL; fresh databases are created on it).
A scenario that fails is reported as failed; the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import pkgutil
import shlex
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.common import ROOT, Context, Section, ensure_wrk, machine_description

FULL_REPORT = ROOT / "docs" / "BENCHMARKS.md"
QUICK_REPORT = ROOT / "var" / "bench-quick.md"


FIRST = ("footprint",)  # measured on the freshly started platform, before other scenarios load it
# The bulk import leaves the shared platform working through its events for many minutes (see its section): the
# scenarios after it would measure that backlog, not themselves, so it runs last.
LAST = ("bulk_import",)


def scenarios() -> list[str]:
    names = sorted(
        m.name.removeprefix("scenario_")
        for m in pkgutil.iter_modules([str(Path(__file__).parent)])
        if m.name.startswith("scenario_")
    )
    middle = [n for n in names if n not in FIRST and n not in LAST]
    return [n for n in FIRST if n in names] + middle + [n for n in LAST if n in names]


def run_one(name: str, ctx: Context) -> Section:
    started = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.scenario_{name}")
        section: Section = module.run(ctx)
    except Exception as exc:  # a failed scenario is a finding of the run, not its end
        section = Section(f"{name}: FAILED")
        section.invalid.append(f"{type(exc).__name__}: {exc}")
        section.notes.append("```\n" + traceback.format_exc()[-3000:] + "\n```")
    section.seconds = time.perf_counter() - started
    if not section.rows and not section.invalid:  # a scenario that measured nothing did not run
        section.invalid.append("no figures")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes; report to var/bench-quick.md")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios (of {', '.join(scenarios())})")
    parser.add_argument("--postgres", default=os.environ.get("KAM_BENCH_POSTGRES_URL"), help="PostgreSQL server URL")
    parser.add_argument("--out", type=Path, default=None, help="report path (default by mode)")
    args = parser.parse_args(argv)
    wanted = {n for n in args.only.split(",") if n}
    names = [n for n in scenarios() if n in wanted] + sorted(wanted - set(scenarios())) if wanted else scenarios()
    unknown = sorted(set(names) - set(scenarios()))
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    ensure_wrk()
    command = os.environ.get("KAM_BENCH_COMMAND") or "python -m bench " + shlex.join(argv or sys.argv[1:])
    postgres_version = None
    if args.postgres:
        from bench.platform import postgres_version as _pg_version

        postgres_version = asyncio.run(_pg_version(args.postgres))
    header = machine_description(command, postgres_version)
    out = args.out or (QUICK_REPORT if args.quick else FULL_REPORT)
    sections: list[Section] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kam-bench-") as tmp:
        ctx = Context(quick=args.quick, postgres_url=args.postgres, workdir=Path(tmp))
        try:
            for name in names:
                print(f"== {name}", flush=True)
                section = run_one(name, ctx)
                print(section.markdown(), flush=True)
                sections.append(section)
        finally:
            for platform in ctx.platforms.values():
                platform.stop()
    failed = [s.title for s in sections if s.invalid]
    mode = "quick (small sizes: proves every scenario runs; not for the record)" if args.quick else "full"
    text = (
        "# Benchmarks\n\n"
        f"Written by `make bench{'-quick' if args.quick else ''}` (`python -m bench`, {mode}). Every figure beside its "
        "baseline comes from the same run on the machine described here; ratios are figure ÷ baseline. HTTP "
        "throughput and latency are measured with wrk. A scenario with errors or non-2xx answers is marked INVALID.\n\n"
        f"{header}\n- total time: {time.perf_counter() - began:.0f} s\n"
        + (
            f"- invalid or failed scenarios: {', '.join(failed)}\n"
            if failed
            else "- every scenario ran without errors\n"
        )
        + "\n"
        + "\n".join(s.markdown() for s in sections)
    )
    extra = ROOT / "bench" / "findings.md"
    if not args.quick and extra.exists():
        text += "\n" + extra.read_text(encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} in {time.perf_counter() - began:.0f} s; {len(failed)} scenario(s) invalid or failed")
    return 1 if failed and args.quick else 0


if __name__ == "__main__":
    sys.exit(main())
