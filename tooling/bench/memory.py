"""Resident memory of processes, read from /proc: each process's, and the whole set's; a process
counts its running children (PostgreSQL's backends), the mesh's own processes have none."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tooling.bench.cpu import children_of_all, descendants

BYTES_PER_KIB = 1024
BYTES_PER_MB = 1_000_000


@dataclass(frozen=True)
class Resident:
    """Now (VmRSS) and the most it has ever been (VmHWM), in MB (10^6 bytes)."""

    rss_mb: float
    peak_mb: float


def resident(pid: int) -> Resident:
    """The process's own, and its descendants' added (shared pages counted in each)."""
    rss = peak = 0
    for each in descendants(pid, children_of_all()):
        try:
            fields = _kib_fields(Path(f"/proc/{each}/status").read_text().splitlines())
        except OSError:  # a child gone meanwhile
            continue
        rss, peak = rss + fields.get("VmRSS", 0), peak + fields.get("VmHWM", 0)
    return Resident(_mb(rss), _mb(peak))


def snapshot(pids: Mapping[str, int]) -> dict[str, Resident]:
    return {name: resident(pid) for name, pid in pids.items()}


def rss_sum_mb(memory: Mapping[str, Resident]) -> float:
    """What adding up `ps` would say: pages the processes share are counted in each."""
    return sum(entry.rss_mb for entry in memory.values())


def together_mb(pids: Iterable[int]) -> float:
    """Memory the processes hold together: private pages, plus each shared file's pages once.

    The five services map the same libraries (grpc's core among them); adding up their RSS
    counts those pages five times. (PSS would instead split them with every other process on
    the machine that maps them, such as another checkout's tests.)
    """
    private = 0
    shared: dict[str, int] = {}
    children = children_of_all()
    every = [each for pid in pids for each in descendants(pid, children)]
    for pid in every:
        for name, fields in _mappings(pid):
            private += fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
            pages = fields.get("Shared_Clean", 0) + fields.get("Shared_Dirty", 0)
            if pages:
                shared[name] = max(shared.get(name, 0), pages)
    return _mb(private + sum(shared.values()))


def _mappings(pid: int) -> list[tuple[str, dict[str, int]]]:
    """(file or region name, its kB fields) for each mapping in /proc/<pid>/smaps."""
    found: list[tuple[str, dict[str, int]]] = []
    lines: list[str] = []
    name = ""
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:  # a child gone meanwhile (a PostgreSQL backend)
        return found
    for line in text.splitlines():
        head = line.split(maxsplit=5)
        if "-" in head[0] and not head[0].endswith(":"):  # "start-end perms offset dev inode path"
            if lines:
                found.append((name, _kib_fields(lines)))
            name, lines = (head[5] if len(head) > 5 else f"{pid}:{head[0]}"), []
        else:
            lines.append(line)
    if lines:
        found.append((name, _kib_fields(lines)))
    return found


def _kib_fields(lines: Iterable[str]) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in lines:
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            fields[key] = int(parts[0])
    return fields


def _mb(kib: int) -> float:
    return kib * BYTES_PER_KIB / BYTES_PER_MB
