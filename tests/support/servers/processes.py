"""Start, wait for and stop the real processes tests talk to: Jaeger, nats-server, services."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

from tooling.harness import ports

POLL_SECONDS = 0.05
_TCP_LISTEN = "0A"  # the state column of /proc/net/tcp


def free_port() -> int:
    """A loopback port nothing listens on, below the ephemeral range (see tooling.harness.ports):
    a port the OS picks for us could be taken by any outgoing connection before our server binds
    it."""
    return ports.free_port()


def python_stacks(pid: int) -> str:
    """What a Python process is doing now (py-spy dump), to explain a test that timed out on it;
    the reason instead when it cannot be read."""
    py_spy = Path(sys.executable).parent / "py-spy"
    try:
        dumped = subprocess.run(
            [str(py_spy), "dump", "--pid", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"(no stacks: {error})"
    return dumped.stdout or f"(no stacks: {dumped.stderr.strip()})"


def start_process(
    args: Sequence[str], env: Mapping[str, str] | None, log_path: Path
) -> subprocess.Popen[bytes]:
    """Start `args` in its own process group, stdout and stderr going to `log_path`.

    `env` is added to this process's environment (None: inherit it unchanged).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        # The child keeps its own copy of the file descriptor.
        return subprocess.Popen(
            list(args),
            env={**os.environ, **env} if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10.0) -> int:
    """SIGTERM the process group, SIGKILL it if alive after `timeout`; return the exit code."""
    if process.poll() is None:
        _signal_group(process, signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
    return process.wait()


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts TCP connections on host:port.

    With `process`, fail at once if it exits instead of waiting out the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=POLL_SECONDS * 10):
                return
        except OSError as error:
            _sleep_or_fail(deadline, process, f"nothing listens on {host}:{port} ({error})")


def wait_for_http(
    url: str, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> bytes:
    """Block until GET `url` answers 200; return the body. `process` as in wait_for_port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=POLL_SECONDS * 10) as response:
                body: bytes = response.read()
                return body
        except OSError as error:  # URLError and HTTPError are OSErrors
            _sleep_or_fail(deadline, process, f"GET {url} did not answer 200 ({error})")


def log_tail(log_path: Path, lines: int = 30) -> str:
    """The last lines of a process log, for assertion messages."""
    if not log_path.exists():
        return f"(no log at {log_path})"
    text = log_path.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])


def _signal_group(process: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):  # gone between poll() and killpg()
        os.killpg(process.pid, signum)


def _sleep_or_fail(deadline: float, process: subprocess.Popen[bytes] | None, message: str) -> None:
    if process is not None and process.poll() is not None:
        raise RuntimeError(f"{process.args!r} exited with code {process.returncode}: {message}")
    if time.monotonic() >= deadline:
        raise TimeoutError(f"timed out: {message}")
    time.sleep(POLL_SECONDS)


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(ip, port) of every TCP socket `pid` listens on, read from /proc (Linux only)."""
    inodes: set[str] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd)
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found: set[tuple[str, int]] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _TCP_LISTEN and inode in inodes:
                address, port = local.split(":")
                found.add((_proc_net_ip(address), int(port, 16)))
    return found


def _proc_net_ip(hex_address: str) -> str:
    """/proc/net/tcp* print addresses as 32-bit words in host (little-endian) byte order."""
    raw = bytes.fromhex(hex_address)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))
