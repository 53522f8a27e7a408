"""Serialization retries are read from the services' Prometheus pages: summed over label sets
and processes, and unknown (not zero) where nobody exports them."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tooling.bench.retries import aborts_logged, counted_in, per_hundred, since, total

PAGE = """# HELP simplebank_database_retries_total Transactions run again
# TYPE simplebank_database_retries_total counter
simplebank_database_retries_total{otel_scope_name="mesh.storage",reason="serialization"} 12.0
simplebank_database_retries_total{otel_scope_name="mesh.storage",reason="deadlock"} 3.0
simplebank_database_retries_created{otel_scope_name="mesh.storage"} 1.7e+09
simplebank_messages_dead_lettered_total{consumer="orders"} 99.0
"""


def test_every_label_set_of_the_counter_is_added_up() -> None:
    assert counted_in(PAGE) == 15.0


def test_a_sample_with_a_timestamp_reads_its_value() -> None:
    assert counted_in("simplebank_database_retries_total 4 1700000000000\n") == 4.0


def test_a_page_without_the_counter_is_unknown_not_zero() -> None:
    assert counted_in('simplebank_messages_dead_lettered_total{consumer="x"} 2.0\n') is None


def test_retries_during_the_load_are_the_difference_of_two_readings() -> None:
    assert since(10.0, 25.0) == 15.0
    assert since(None, 4.0) == 4.0  # the counter first appeared during the load
    assert since(None, None) is None
    assert per_hundred(3.0, 600) == 0.5
    assert per_hundred(None, 600) is None


@pytest.fixture
def metrics_page() -> Iterator[str]:
    """A Prometheus page served on a free loopback port: host:port."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = PAGE.encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_processes_without_a_metrics_port_are_left_out(metrics_page: str) -> None:
    with_nothing_there = "127.0.0.1:1"

    assert total([metrics_page, metrics_page, with_nothing_there]) == 30.0
    assert total([with_nothing_there]) is None


def test_postgresql_logs_one_error_line_for_each_aborted_transaction(tmp_path: Path) -> None:
    log = tmp_path / "postgres.log"
    log.write_text(
        "2026-12-07 02:13:03.296 UTC [19680] ERROR:  could not serialize access due to"
        " read/write dependencies among transactions\n"
        "2026-12-07 02:13:03.296 UTC [19680] DETAIL:  Reason code: Canceled on identification"
        " as a pivot, during commit attempt.\n"
        "2026-12-07 02:13:03.296 UTC [19680] STATEMENT:  COMMIT\n"
        "2026-12-07 02:13:04.001 UTC [19681] ERROR:  deadlock detected\n"
        "2026-12-07 02:13:05.000 UTC [19682] ERROR:  duplicate key value violates unique"
        " constraint\n"
    )

    assert aborts_logged(log) == 2
    assert aborts_logged(tmp_path / "absent.log") is None
    assert aborts_logged(None) is None
