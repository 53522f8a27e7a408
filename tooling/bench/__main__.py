"""make bench: PlaceSellOrder's throughput, latency, tracing cost, start-up time and memory.

    python -m tooling.bench [--rate 200] [--duration 20] [--concurrency 32] [--keep]
    python -m tooling.bench --quick    # seconds; fails unless every call succeeded

Starts its own mesh (tooling/run.py) on free loopback ports once per configuration (tracing
on, the sampler off, metrics off, mesh TLS off, --no-tracing; the full run adds `make
cluster`'s shape: two replicas each on PostgreSQL, three NATS nodes) and a bare grpc.aio chain
of as many hops, loads each with ghz, prints one table and writes it as JSON to results/.
Figures are for reading, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tooling.bench import plan as plans
from tooling.bench import report
from tooling.bench.baseline import running_baseline
from tooling.bench.machine import describe
from tooling.bench.plan import Plan
from tooling.bench.progress import say
from tooling.bench.scenario import Measurement, measure
from tooling.bench.shapes import (
    CLUSTER,
    MESH_TLS_OFF,
    METRICS_OFF,
    SAMPLER_OFF,
    SDK_OFF,
    TOKEN,
    TRACING_ON,
    Tracing,
    running_mesh,
)
from tooling.harness.mesh import MeshStartError
from tooling.launcher.paths import REPO_ROOT

METADATA = {"authorization": f"Bearer {TOKEN}"}
START_ATTEMPTS = 3


def measure_mesh(root: Path, name: str, tracing: Tracing, plan: Plan) -> Measurement:
    for attempt in range(1, START_ATTEMPTS + 1):
        say(f"{name}: starting the mesh")
        try:
            with running_mesh(
                root / f"{tracing.name.replace(' ', '-')}-{attempt}", tracing
            ) as mesh:
                say(f"{name}: every service SERVING after {mesh.ready_seconds:.2f} s")
                shedding = tracing is TRACING_ON  # once is enough: the gateway's admission
                measured = measure(name, mesh.gateway, mesh.ready.pids, plan, METADATA, shedding)
                say(f"{name}: stopping the mesh")
            return dataclasses.replace(
                measured,
                startup_seconds=mesh.ready.startup_seconds,
                ready_seconds=mesh.ready_seconds,
            )
        except MeshStartError as error:
            if not error.port_clash or attempt == START_ATTEMPTS:
                raise
            say(f"{name}: a port was taken meanwhile; starting again on others")
    raise AssertionError("unreachable")


def measure_baseline(root: Path, plan: Plan) -> Measurement:
    name = report.BASELINE
    say(f"{name}: starting")
    with running_baseline(root / "baseline") as baseline:
        return measure(name, baseline.entry, baseline.pids, plan, METADATA)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tooling.bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="seconds of load, to test the harness")
    parser.add_argument("--rate", type=int, default=200, help="orders/s of the latency run")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of each run")
    parser.add_argument("--concurrency", type=int, default=32, help="workers of the flat-out run")
    parser.add_argument(
        "--no-tracing-run",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also measure the launcher's --no-tracing (default: yes)",
    )
    parser.add_argument(
        "--cluster",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also measure make cluster's shape (default: in the full run, not with --quick)",
    )
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--keep", action="store_true", help="keep data folders and logs")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plans.quick() if args.quick else plans.full(args.rate, args.duration, args.concurrency)
    if not args.no_tracing_run:
        plan = dataclasses.replace(plan, no_tracing=False)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    root = Path(tempfile.mkdtemp(prefix="simplebank-bench-"))
    root.chmod(0o755)  # the cluster's PostgreSQL runs as its own user, below this folder
    configurations = {
        report.TRACING_ON: TRACING_ON,
        report.SAMPLER_OFF: SAMPLER_OFF,
        report.METRICS_OFF: METRICS_OFF,
        report.MESH_TLS_OFF: MESH_TLS_OFF,
    }
    if plan.no_tracing:
        configurations[report.NO_TRACING] = SDK_OFF
    if args.cluster if args.cluster is not None else not args.quick:
        configurations[report.CLUSTER] = CLUSTER
    measured: dict[str, Measurement] = {}
    began = time.monotonic()
    try:
        for name, tracing in configurations.items():
            measured[name] = measure_mesh(root, name, tracing, plan)
        measured[report.BASELINE] = measure_baseline(root, plan)
    except Exception as error:
        print(f"bench: failed: {error}\n(data folders and logs kept in {root})", file=sys.stderr)
        return 1
    doc = report.document(measured, plan, describe(), quick=args.quick)
    doc["seconds"] = round(time.monotonic() - began, 1)
    print(report.table(doc))
    path = report.write(doc, args.results, stamp)
    print(f"\nwritten to {path} ({doc['seconds']:.0f} s in all)")
    # Flat out, an overloaded mesh may rightly refuse calls (deadline exceeded): the full run
    # reports them. The quick run is a test of the harness: there every call must succeed.
    trouble = report.malformed(doc) + (report.failed_calls(doc) if args.quick else [])
    if trouble or args.keep:
        print(f"data folders and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    if trouble:
        print(
            "bench: FAILED: not every call succeeded, or the report is malformed:", file=sys.stderr
        )
        for line in trouble:
            print(f"  - {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
