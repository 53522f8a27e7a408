"""What the mesh costs while nobody calls it: the CPU every one of its processes uses when idle.

    python -m tooling.bench.idle [--cluster] [--seconds 60] [--settle 10]

Starts the mesh as the bench does (`make run`'s shape, tracing on; or `make cluster`'s), waits
for it to settle after start, then reads each process's CPU time (with its running children:
PostgreSQL's backends) from /proc before and after `seconds` and prints the total as a share of
one core, with each process's part. Background work that polls (a relay, a consumer's fetch, a
sweeper, an exporter) shows here. The figures are for reading, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.bench import cpu
from tooling.bench.progress import say
from tooling.bench.shapes import CLUSTER, TRACING_ON, Tracing, running_mesh
from tooling.bench.workload import HOT

SECONDS = 60.0
# After SERVING, start-up work still runs for a while: imports finishing, the first exports,
# JetStream consumers being created. Idle is what is left after it.
SETTLE_SECONDS = 10.0


@dataclass(frozen=True)
class IdleResult:
    """CPU seconds each process used over `seconds` of idling; its share of one core."""

    shape: str
    seconds: float
    used: Mapping[str, float]  # CPU seconds by process name, its own children included
    processes: int  # the named ones and their children (PostgreSQL's backends)

    @property
    def total_percent(self) -> float:
        return percent(sum(self.used.values()), self.seconds)

    def percent_of(self, name: str) -> float:
        return percent(self.used[name], self.seconds)

    def lines(self) -> list[str]:
        """The total, then each process from the busiest down."""
        rows = [
            f"{self.shape}: idle for {self.seconds:.0f} s, {self.processes} processes:"
            f" {self.total_percent:.2f}% of one core"
        ]
        for name, seconds in sorted(self.used.items(), key=lambda item: -item[1]):
            rows.append(f"  {name:<24} {self.percent_of(name):6.2f}%  {seconds * 1000:8.0f} ms")
        return rows


def percent(cpu_seconds: float, wall_seconds: float) -> float:
    return 100.0 * cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0


def own_trees(pids: Mapping[str, int]) -> dict[str, list[int]]:
    """Each named process with its descendants, less the named ones below it and theirs.

    The launcher is the parent of every other process of the mesh: counted with all its
    descendants, as a process's CPU usually is (PostgreSQL's backends), it would count them all
    twice. Each process is counted once, under the nearest named process above it.
    """
    children, named = cpu.children_of_all(), set(pids.values())

    def tree(pid: int) -> list[int]:
        below = (tree(child) for child in children.get(pid, []) if child not in named)
        return [pid, *(each for subtree in below for each in subtree)]

    return {name: tree(pid) for name, pid in pids.items()}


def measure(
    pids: Mapping[str, int], seconds: float, sleep: Callable[[float], None] = time.sleep
) -> dict[str, float]:
    """CPU seconds each process (with its own children) used over the next `seconds`.

    Counted per process, so a child that started meanwhile (a new PostgreSQL backend) counts
    all of its time, and one that ended takes its time with it.
    """
    before = {pid: cpu.cpu_seconds(pid) for tree in own_trees(pids).values() for pid in tree}
    sleep(seconds)
    return {
        name: sum(cpu.cpu_seconds(pid) - before.get(pid, 0.0) for pid in tree)
        for name, tree in own_trees(pids).items()
    }


def idle_cpu(
    root: Path, tracing: Tracing, seconds: float = SECONDS, settle: float = SETTLE_SECONDS
) -> IdleResult:
    """Start the mesh in `tracing`'s shape under `root`, let it settle, measure it idle."""
    with running_mesh(root, tracing, HOT) as mesh:
        say(f"{tracing.name}: every service SERVING after {mesh.ready_seconds:.1f} s")
        time.sleep(settle)
        pids = mesh.pids
        say(f"{tracing.name}: measuring {len(pids)} processes idle for {seconds:.0f} s")
        used = measure(pids, seconds)
        processes = sum(len(tree) for tree in own_trees(pids).values())
    return IdleResult(tracing.name, seconds, used, processes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", action="store_true", help="make cluster's shape")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS)
    args = parser.parse_args(argv)
    tracing = CLUSTER if args.cluster else TRACING_ON
    with tempfile.TemporaryDirectory(prefix="simplebank-idle-") as root:
        result = idle_cpu(Path(root), tracing, args.seconds, args.settle)
    print("\n".join(result.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
