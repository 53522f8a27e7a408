"""Sleep until a signal says something happened: a child exited (SIGCHLD), or stop (SIGINT...).

The launcher's watch used to look at its children every half second, 40 ms of CPU a minute with
nothing happening. The kernel already says when a child exits; Python's wakeup fd turns each
signal into a byte on a socket, and `wait` sleeps in select on it. A signal that comes between
two waits leaves its byte behind, so none is missed.
"""

from __future__ import annotations

import select
import signal
import socket
from types import FrameType, TracebackType
from typing import Any


def _noted(signum: int, frame: FrameType | None) -> None:
    """SIGCHLD's Python handler: the byte on the wakeup fd is what matters (a signal without a
    Python handler writes none)."""


class SignalWakeup:
    """Within `with`, `wait(timeout)` returns as soon as any handled signal arrives (SIGCHLD
    included), or after `timeout` seconds (None: no limit). Main thread only, as signals are."""

    def __init__(self) -> None:
        self._reader, self._writer = socket.socketpair()
        self._previous: tuple[int, Any] | None = None

    def __enter__(self) -> SignalWakeup:
        for end in (self._reader, self._writer):
            end.setblocking(False)
        fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
        self._previous = (fd, signal.signal(signal.SIGCHLD, _noted))
        return self

    def wait(self, timeout: float | None) -> None:
        select.select([self._reader], [], [], timeout)
        try:
            while self._reader.recv(4096):
                pass
        except BlockingIOError:
            pass  # drained

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._previous is not None:
            fd, handler = self._previous
            signal.signal(signal.SIGCHLD, handler)
            signal.set_wakeup_fd(fd)
        self._reader.close()
        self._writer.close()
