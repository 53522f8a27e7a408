"""CPU time of processes from /proc: who worked during a run, and waiting until all are idle.

A process's time includes its children's still running (PostgreSQL's backends, which do its
work); the mesh's own processes start none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, children: Mapping[int, list[int]] | None = None) -> float:
    """User plus system time the process (and, given `children`, its descendants) has used so
    far (0 if it is gone)."""
    own = _own_cpu_seconds(pid)
    if children is None:
        return own
    return own + sum(cpu_seconds(child, children) for child in children.get(pid, []))


def _own_cpu_seconds(pid: int) -> float:
    fields = _stat_fields(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; the fields after its ")" are fixed.
    return stat.rsplit(")", 1)[1].split()


def children_of_all() -> dict[int, list[int]]:
    """Each running process's children, from /proc (pid -> child pids)."""
    found: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None:
                found.setdefault(int(fields[1]), []).append(int(entry.name))
    return found


def descendants(pid: int, children: Mapping[int, list[int]]) -> list[int]:
    """The process and everything below it."""
    return [pid, *(d for child in children.get(pid, []) for d in descendants(child, children))]


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    children = children_of_all()
    return {name: cpu_seconds(pid, children) for name, pid in pids.items()}


def used_since(before: Mapping[str, float], pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds each process used since `before` was taken."""
    now = snapshot(pids)
    return {name: now[name] - before.get(name, 0.0) for name in pids}


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
