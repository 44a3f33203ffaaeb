"""What a benchmark returns, and how the runner records it."""

from __future__ import annotations

import os
import platform
import resource
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass
class BenchResult:
    """One benchmark's outcome: a title, a markdown table (rows of label → value) and notes."""

    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    notes: str = ""

    def add(self, label: str, value: object) -> None:
        """Append one figure."""
        self.rows.append((label, str(value)))

    def markdown(self) -> str:
        """The result as a markdown section."""
        lines = [f"## {self.title}", "", "| measure | value |", "|---|---|"]
        lines += [f"| {label} | {value} |" for label, value in self.rows]
        if self.notes:
            lines += ["", self.notes]
        return "\n".join(lines) + "\n"


def machine_description() -> str:
    """Where and when the benchmarks ran."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"- date: {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}\n"
        f"- machine: {cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.system()} {platform.release()}\n"
        f"- Python {platform.python_version()}\n"
    )


def peak_rss_mib() -> float:
    """Peak resident memory of this process (MiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
