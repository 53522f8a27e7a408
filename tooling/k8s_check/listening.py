"""Which addresses a set of processes listens on, as `ss -ltnp` reports them."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

_PID = re.compile(r"pid=(\d+)")
ALL_INTERFACES = {"0.0.0.0", "*", "[::]", "::", "[::ffff:0.0.0.0]"}


@dataclass(frozen=True)
class Listener:
    pid: int
    program: str
    host: str
    port: int

    @property
    def on_all_interfaces(self) -> bool:
        return self.host in ALL_INTERFACES


def parse_ss(output: str) -> list[Listener]:
    """Rows of `ss -ltnpH`: state, queues, local address, peer address, users:(("name",pid=..))."""
    listeners: list[Listener] = []
    for row in output.splitlines():
        fields = row.split()
        if len(fields) < 6:
            continue  # a socket whose process ss may not name
        host, _, port = fields[3].rpartition(":")
        program = fields[5].split('"')[1] if '"' in fields[5] else "?"
        listeners.extend(
            Listener(int(pid), program, host, int(port)) for pid in _PID.findall(fields[5])
        )
    return listeners


def listeners_of(pids: Iterable[int]) -> list[Listener]:
    """Every TCP socket in LISTEN state that one of `pids` holds."""
    wanted = set(pids)
    output = subprocess.run(
        ["ss", "-ltnpH"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return [listener for listener in parse_ss(output) if listener.pid in wanted]
