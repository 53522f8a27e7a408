"""Which machine and versions a run came from, so its figures can be read in context."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from tooling.bench.ghz import GHZ


def describe() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count() or 0,
        "cpu_model": _cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9, 1),
        "python": platform.python_version(),
        "grpcio": metadata.version("grpcio"),
        "opentelemetry_sdk": metadata.version("opentelemetry-sdk"),
        "ghz": _ghz_version(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ghz_version() -> str:
    """ghz built with `go install` calls itself "dev"; the pinned version names its folder."""
    done = subprocess.run([str(GHZ), "--version"], capture_output=True, text=True, timeout=10)
    reported = done.stdout.strip() or done.stderr.strip()
    folder = GHZ.resolve().parent.parent.name  # .../ghz-v0.121.0/bin/ghz
    return folder.removeprefix("ghz-") if folder.startswith("ghz-v") else reported
