"""What a stopped mesh could leave behind: processes still running, ports still taken."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from pathlib import Path


def alive(pid: int, start_time: str) -> bool:
    """Running, and the same process: a zombie has exited, and a reused pid started later."""
    return _state(pid) not in (None, "Z") and start_time_of(pid) == start_time


def start_time_of(pid: int) -> str | None:
    """When the process started (clock ticks since boot), or None if there is no such process."""
    fields = _stat_fields(pid)
    return None if fields is None else fields[19]


def busy_ports(ports: Mapping[str, str]) -> list[str]:
    """The variables whose address (or port) a new server could not listen on right now.

    SO_REUSEADDR, as every server of the mesh sets it: connections of the stopped run lingering
    in TIME_WAIT do not make a port busy.
    """
    busy = []
    for variable, value in ports.items():
        port = int(value.rpartition(":")[2])
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
            except OSError as error:
                busy.append(f"{variable}={value} ({error.strerror})")
    return busy


def processes_mentioning(text: str) -> list[str]:
    """Every process whose command line or environment contains `text` (say a data folder).

    This finds a mesh's processes, and anything they started, whatever their pids.
    """
    found = []
    needle = text.encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if _state(int(proc.name)) == "Z":
                continue
            cmdline = (proc / "cmdline").read_bytes()
            if needle in cmdline or needle in (proc / "environ").read_bytes():
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{proc.name}: {command}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat after the command name (which may hold spaces), or None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def _state(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return None if fields is None else fields[0]
