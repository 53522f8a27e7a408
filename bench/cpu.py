"""CPU time of processes from /proc: who worked during a run, and waiting until all are idle."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system time the process has used so far (0 if it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    return {name: cpu_seconds(pid) for name, pid in pids.items()}


def used_since(before: Mapping[str, float], pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds each process used since `before` was taken."""
    return {name: cpu_seconds(pid) - before.get(name, 0.0) for name, pid in pids.items()}


def wait_until_idle(
    pids: Mapping[str, int], timeout: float, window: float = 0.5, busy_fraction: float = 0.1
) -> float:
    """Wait until the processes together use under `busy_fraction` of a core for one `window`
    (the events an order set off have been handled); returns the seconds waited."""
    began = time.monotonic()
    before = sum(snapshot(pids).values())
    while time.monotonic() - began < timeout:
        time.sleep(window)
        now = sum(snapshot(pids).values())
        if now - before < busy_fraction * window:
            break
        before = now
    return time.monotonic() - began
