"""A TCP proxy between one client and nats-server that can hold back the client's JetStream acks.

With acks held, a consumer commits every message it gets and JetStream never hears about it:
exactly the state a crash between commit and ack leaves behind, made certain instead of lucky.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

ACK_PREFIX = b"$JS.ACK."
CRLF = b"\r\n"


@dataclass
class HeldAcks:
    """Whether acks are being held now, and the subjects of those held so far, in order."""

    holding: bool = False
    subjects: list[str] = field(default_factory=list)


class AckFilter:
    """Splits the client's side of the NATS protocol into operations and drops held acks.

    Every operation is one line, except PUB and HPUB, whose line ends with the size of the
    payload that follows (and its own CRLF).
    """

    def __init__(self, held: HeldAcks) -> None:
        self._held = held
        self._buffer = b""

    def feed(self, data: bytes) -> bytes:
        """Take bytes from the client; return the ones to pass on to the server."""
        self._buffer += data
        passed = bytearray()
        while (end := self._buffer.find(CRLF)) >= 0:
            words = self._buffer[:end].split()
            size = 0
            if words and words[0].upper() in (b"PUB", b"HPUB"):
                size = int(words[-1]) + len(CRLF)
            length = end + len(CRLF) + size
            if len(self._buffer) < length:
                break  # the payload has not all arrived yet
            if self._held.holding and size and words[1].startswith(ACK_PREFIX):
                self._held.subjects.append(words[1].decode())
            else:
                passed += self._buffer[:length]
            self._buffer = self._buffer[length:]
        return bytes(passed)


class AckHoldingProxy:
    """Listens on a free port and forwards each connection to nats-server on `upstream_port`."""

    def __init__(self, upstream_port: int) -> None:
        self._upstream = ("127.0.0.1", upstream_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.acks = HeldAcks()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        for thread in self._threads:
            thread.join(timeout=2)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the proxy was closed
            try:
                server = socket.create_connection(self._upstream)
            except OSError:
                client.close()  # nats-server is down: the client sees a refused connection
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink, ack_filter in (
                (client, server, AckFilter(self.acks)),
                (server, client, None),
            ):
                thread = threading.Thread(
                    target=self._pump, args=(source, sink, ack_filter), daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def _pump(
        self, source: socket.socket, sink: socket.socket, ack_filter: AckFilter | None
    ) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(ack_filter.feed(data) if ack_filter else data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@contextmanager
def run_ack_proxy(upstream_port: int) -> Iterator[AckHoldingProxy]:
    proxy = AckHoldingProxy(upstream_port)
    try:
        yield proxy
    finally:
        proxy.close()
