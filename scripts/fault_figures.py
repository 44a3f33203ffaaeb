"""Run the fault tests and print their figures as the Markdown table docs/RELIABILITY.md quotes.

Run: ``.venv/bin/python scripts/fault_figures.py`` (a few minutes; the tests start their own NATS and services).
With ``KAM_TEST_POSTGRES_URL`` set, every test runs on SQLite and on PostgreSQL (a fresh database per service).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    """Run ``pytest -m fault`` with ``KAM_FAULT_FIGURES`` set, then print one table row per test."""
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.jsonl"
        env = {**os.environ, "KAM_FAULT_FIGURES": str(figures)}
        command = [sys.executable, "-m", "pytest", "-o", "addopts=", "-q", "-p", "no:cacheprovider", "-m", "fault"]
        code = subprocess.call([*command, "tests/fault"], cwd=ROOT, env=env)  # noqa: S603 - fixed argv
        lines = figures.read_text(encoding="utf-8").splitlines() if figures.exists() else []
    print("\n| fault test | backend | figures |\n|---|---|---|")
    for line in lines:
        row = json.loads(line)
        name, backend = row.pop("test"), row.pop("backend")
        print(f"| {name} | {backend} | " + "; ".join(f"{k}: {v}" for k, v in row.items()) + " |")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
