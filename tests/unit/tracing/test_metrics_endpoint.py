"""The metrics endpoint: serves the exposition, sleeps between scrapes, stops at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Counter

from tooling.harness.ports import free_port
from tracing.metrics import MetricsEndpoint


def serving_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "metrics-endpoint"]


def times_on_cpu(thread: threading.Thread) -> int:
    """How many times the kernel has put the thread on a CPU (its wake-ups)."""
    return int(Path(f"/proc/self/task/{thread.native_id}/schedstat").read_text().split()[2])


def test_it_serves_the_registry_and_stops_promptly() -> None:
    registry = CollectorRegistry()
    Counter("scrapes_seen", "a counter to find", registry=registry).inc(3)
    port = free_port()
    endpoint = MetricsEndpoint("TEST_METRICS_ADDR", f"127.0.0.1:{port}", registry)
    asyncio.run(endpoint.start())

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        assert "scrapes_seen_total 3.0" in answer.read().decode()
    started = time.monotonic()
    asyncio.run(endpoint.stop())

    seconds = time.monotonic() - started
    assert seconds < 2.0, f"stopping took {seconds:.2f}s"  # without the knock it never ends
    assert not serving_threads()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_its_thread_sleeps_between_scrapes() -> None:
    """serve_forever without a poll interval: the thread blocks in select until a scrape."""
    endpoint = MetricsEndpoint("TEST_METRICS_ADDR", f"127.0.0.1:{free_port()}", CollectorRegistry())
    asyncio.run(endpoint.start())
    try:
        (thread,) = serving_threads()
        time.sleep(0.3)  # into its select
        before = times_on_cpu(thread)
        time.sleep(1.5)  # prometheus_client's own serving thread wakes 3 times
        woken = times_on_cpu(thread) - before
        assert woken == 0, f"the idle serving thread woke {woken} times in 1.5 s"
    finally:
        asyncio.run(endpoint.stop())


def test_a_taken_port_names_the_variable() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        endpoint = MetricsEndpoint("ORDERS_METRICS_ADDR", address, CollectorRegistry())
        with pytest.raises(OSError, match="ORDERS_METRICS_ADDR="):
            asyncio.run(endpoint.start())
