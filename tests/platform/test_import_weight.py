"""What every process loads at start is what it needs to serve (issue 18's footprint row): the spreadsheet writer
(openpyxl, and the numpy it pulls in) is imported when a sheet is asked for, not by every app on import."""

from __future__ import annotations

import subprocess
import sys

import pytest

APPS = [
    "gateway.app",
    *(f"services.{name}.app" for name in ("scoring", "complaints", "risk", "goals", "notifications")),
]
NEEDS_NUMPY = {"services.scoring.app"}  # the vectorised re-score


@pytest.mark.parametrize("module", APPS)
def test_an_app_does_not_load_the_spreadsheet_writer_on_import(module: str) -> None:
    probe = f"import sys, {module}; print(sorted(m for m in ('openpyxl', 'numpy') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    expected = ["numpy"] if module in NEEDS_NUMPY else []
    assert loaded.strip() == str(expected)
