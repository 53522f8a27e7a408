"""`make run`: NATS, Jaeger, the five services and their watchers as local processes, until Ctrl-C.

    python tooling/run.py [--data-dir ./data] [--no-tracing] [--no-observability]
                          [--ready-file PATH] [--timeout 30] [--postgres | --cluster]

--postgres keeps the services' state in a PostgreSQL of the launcher's own (a database each);
--cluster (`make cluster`) is the production shape on one machine: two replicas of every
service sharing those databases, and three NATS nodes (tooling/launcher/topology.py).

Ports come from the same variables the services read (GATEWAY_ADDR ... MARKET_ADDR, NATS_URL,
<SERVICE>_METRICS_ADDR) plus JAEGER_OTLP_GRPC_ADDR, JAEGER_QUERY_ADDR and the watchers' own
(tooling/launcher/observability.py). One log file per process: <data>/logs/.
A setting it cannot use stops it with one line, exit code 2, before anything starts.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `scripts` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mesh.config import ConfigError
from tooling.launcher import ready_file
from tooling.launcher.banner import banner, ready_facts, say
from tooling.launcher.readiness import Interrupted, StartupError
from tooling.launcher.settings import Settings, load_settings
from tooling.launcher.supervisor import Supervisor

TIMEOUT_SECONDS = 30.0
# Ten replicas and three brokers electing a stream leader share two cores.
CLUSTER_TIMEOUT_SECONDS = 90.0


def parse_args(argv: list[str] | None) -> Settings:
    parser = argparse.ArgumentParser(description="Run the SimpleBank mesh as local processes.")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="SQLite files, NATS storage and logs (default: $DATA_DIR, else ./data, or"
        " ./data/cluster with --cluster)",
    )
    parser.add_argument(
        "--tracing",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start Jaeger and export spans to it (default: on)",
    )
    parser.add_argument(
        "--observability",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="start Prometheus, the blackbox exporter and Alertmanager (default: on)",
    )
    parser.add_argument(
        "--ready-file", type=Path, help="write addresses and pids here as JSON once all is ready"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait for everything to be ready (default: 30, 90 with --cluster)",
    )
    shape = parser.add_mutually_exclusive_group()
    shape.add_argument(
        "--postgres", action="store_true", help="state in PostgreSQL (started here), not SQLite"
    )
    shape.add_argument(
        "--cluster",
        action="store_true",
        help="two replicas of every service, three NATS nodes, PostgreSQL (make cluster)",
    )
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(
        os.environ.get("DATA_DIR") or ("data/cluster" if args.cluster else "data")
    )
    timeout = args.timeout or (CLUSTER_TIMEOUT_SECONDS if args.cluster else TIMEOUT_SECONDS)
    return load_settings(
        data_dir,
        args.tracing,
        timeout,
        args.ready_file,
        os.environ,
        args.observability,
        cluster=args.cluster,
        postgres=args.postgres,
    )


def stop_on_signals() -> threading.Event:
    """Ctrl-C, SIGTERM and a closed terminal (SIGHUP) only set a flag; the main loop notices it
    and shuts down in order. The children never see these signals: they run in sessions of
    their own, so they stop when we say, in the order we say."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
    except ConfigError as error:
        say(f"make run: configuration error: {error}", error=True)
        return 2
    stop = stop_on_signals()
    supervisor = Supervisor(settings, stop)
    began = time.monotonic()
    status = 0
    try:
        supervisor.start()
        settings = supervisor.settings  # less the parts whose tools are missing
        seconds = time.monotonic() - began
        say(banner(settings, supervisor.children, seconds))
        if settings.ready_file is not None:
            ready = ready_facts(settings, supervisor.children, seconds)
            ready_file.write(settings.ready_file, ready)
        supervisor.watch()  # restarts what exits, until Ctrl-C
        if supervisor.given_up:
            status = 1
    except StartupError as error:
        say(f"make run failed: {error}", error=True)
        status = 1
    except Interrupted:
        pass
    finally:
        say("\nstopping: the watchers, the services, then NATS, PostgreSQL and Jaeger ...")
        stopping = time.monotonic()
        for name in supervisor.shutdown():
            say(
                f"{name} did not stop within {settings.stop_timeout:.0f}s and was killed",
                error=True,
            )
            status = 1
        if settings.ready_file is not None:
            settings.ready_file.unlink(missing_ok=True)
        say(f"stopped in {time.monotonic() - stopping:.1f}s")
    return status


if __name__ == "__main__":
    sys.exit(main())
