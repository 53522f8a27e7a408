"""Who holds a TCP port: the process listening on it, found through /proc (Linux), for a person
to stop, say one left behind by a `make run` that was killed."""

from __future__ import annotations

import os
from pathlib import Path

LISTEN = "0A"  # the TCP state in /proc/net/tcp


def listening_inodes(port: int) -> set[str]:
    """The socket inodes listening on `port`, IPv4 or IPv6."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == LISTEN and int(local.rpartition(":")[2], 16) == port:
                found.add(inode)
    return found


def holders(port: int) -> list[str]:
    """'pid <pid>: <command line>' of each process holding a listening socket on `port`; empty
    when none is found (or its /proc entries are not ours to read)."""
    sockets = {f"socket:[{inode}]" for inode in listening_inodes(port)}
    if not sockets:
        return []
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if any(os.readlink(fd) in sockets for fd in (proc / "fd").iterdir()):
                command = (
                    (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
                found.append(f"pid {proc.name}: {command.strip()}")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found
