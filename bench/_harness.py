"""Shared by the benchmarks: an isolated data dir, latency sampling and a markdown table."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@contextmanager
def isolated_data_dir(prefix: str) -> Iterator[Path]:
    """A fresh TRACKER_DATA_DIR (database and keys) for this run, removed afterwards.

    DATABASE_URL is dropped so a benchmark never writes into a configured database; the access log is
    quieted (one line per request would otherwise dominate the output, not the timing, of a run).
    """
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        os.environ["TRACKER_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ.pop("DATABASE_URL", None)
        os.environ.pop("AWS_LAMBDA_FUNCTION_NAME", None)
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("POWERTOOLS_LOG_LEVEL", os.environ["LOG_LEVEL"])
        yield Path(tmp) / "data"


@dataclass(frozen=True)
class Sample:
    name: str
    millis: list[float]
    note: str = ""

    def percentile(self, fraction: float) -> float:
        """Nearest-rank percentile."""
        ordered = sorted(self.millis)
        return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def max(self) -> float:
        return max(self.millis)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.millis)


def measure(
    name: str, runs: int, call: Callable[[int], object], *, warmup: int = 5, note: str = ""
) -> Sample:
    """Time `call(i)` for i in range(runs) after `warmup` untimed calls; milliseconds each."""
    for i in range(warmup):
        call(i)
    millis = []
    for i in range(runs):
        started = time.perf_counter()
        call(i)
        millis.append((time.perf_counter() - started) * 1000)
    return Sample(name, millis, note)


def table(samples: list[Sample]) -> str:
    lines = [
        "| request | n | p50 ms | p95 ms | max ms | mean ms | notes |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for s in samples:
        numbers = " | ".join(f"{value:.2f}" for value in (s.p50, s.p95, s.max, s.mean))
        lines.append(f"| {s.name} | {len(s.millis)} | {numbers} | {s.note} |")
    return "\n".join(lines)


def machine() -> str:
    return (
        f"{os.cpu_count()} cores ({cpu_model()}), {platform.machine()}, "
        f"{platform.system()} {platform.release()}, Python {sys.version.split()[0]}"
    )


class Budgets:
    """Each benchmark's budget checks; `finish()` exits non-zero when any was missed (`make bench` stops)."""

    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.misses: list[str] = []

    def check(self, what: str, ok: bool, detail: str) -> str:
        """Record one check; the verdict for a table cell ("ok" / "OVER BUDGET")."""
        if not ok:
            self.misses.append(f"{what}: {detail}")
        return "ok" if ok else "OVER BUDGET"

    def finish(self) -> None:
        print()
        if not self.misses:
            print(f"{self.bench}: every budget met")
            return
        print(f"{self.bench}: {len(self.misses)} budget(s) missed:")
        for miss in self.misses:
            print(f"- {miss}")
        sys.exit(1)


def cpu_model() -> str:
    """The CPU's model name (as /proc/cpuinfo has it), for the record of a run."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def load_average() -> str:
    try:
        return "load average " + ", ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "load average unknown"
