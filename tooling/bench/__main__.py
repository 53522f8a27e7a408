"""make bench: PlaceSellOrder's throughput, latency, tracing cost, start-up time and memory.

    python -m tooling.bench [--rate 200] [--duration 20] [--concurrency 32] [--keep]
    python -m tooling.bench --quick    # seconds; fails unless every call succeeded
    python -m tooling.bench --only postgres,hot-postgres    # just these rows
    python -m tooling.bench --capacity-only --only tracing-on    # just its capacity search

Starts its own mesh (tooling/run.py) on free loopback ports once per configuration (tracing
on, the sampler off, metrics off, mesh TLS off, --no-tracing; the full run adds --postgres and
`make cluster`'s shape: two replicas each on PostgreSQL, three NATS nodes, every gateway replica
loaded) and a bare grpc.aio chain of as many hops, loads each with ghz, prints one table and
writes it as JSON to results/. Orders are spread over many customers' accounts; the hot account
rows (every order from one position, the worst case) run the same shapes again. On some shapes
it also searches the capacity within the objective: the highest fixed rate of orders answered
with p95 <= 100 ms and no errors (tooling/bench/capacity.py). Figures are for reading, never
asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from tooling.bench import plan as plans
from tooling.bench import report, rows
from tooling.bench.baseline import running_baseline
from tooling.bench.capacity import Capacity
from tooling.bench.machine import describe
from tooling.bench.plan import Plan
from tooling.bench.progress import say
from tooling.bench.scenario import Measurement, measure, measure_capacity
from tooling.bench.shapes import (
    CLUSTER,
    MESH_TLS_OFF,
    METRICS_OFF,
    POSTGRES,
    SAMPLER_OFF,
    SDK_OFF,
    TRACING_ON,
    Tracing,
    gateways,
    running_mesh,
)
from tooling.bench.workload import HOT, QUICK_SPREAD_ACCOUNTS, SPREAD_ACCOUNTS, Workload, spread
from tooling.harness.mesh import Mesh, MeshStartError
from tooling.launcher.paths import REPO_ROOT

START_ATTEMPTS = 3
T = TypeVar("T")


@dataclass(frozen=True)
class Configuration:
    """One row of the table: its name there, the mesh's shape (None: the bare chain), whether
    every order comes from the hot account, and whether its capacity within the objective is
    searched."""

    row: str
    shape: Tracing | None
    hot: bool = False
    searched: bool = False


# --only's names, in the order a run measures them.
CONFIGURATIONS = {
    "tracing-on": Configuration(rows.TRACING_ON, TRACING_ON, searched=True),
    "sampler-off": Configuration(rows.SAMPLER_OFF, SAMPLER_OFF, searched=True),
    "metrics-off": Configuration(rows.METRICS_OFF, METRICS_OFF),
    "mesh-tls-off": Configuration(rows.MESH_TLS_OFF, MESH_TLS_OFF),
    "no-tracing": Configuration(rows.NO_TRACING, SDK_OFF),
    "postgres": Configuration(rows.POSTGRES, POSTGRES, searched=True),
    "cluster": Configuration(rows.CLUSTER, CLUSTER, searched=True),
    "hot-sqlite": Configuration(rows.HOT_SQLITE, TRACING_ON, hot=True),
    "hot-postgres": Configuration(rows.HOT_POSTGRES, POSTGRES, hot=True),
    "hot-cluster": Configuration(rows.HOT_CLUSTER, CLUSTER, hot=True),
    "baseline": Configuration(rows.BASELINE, None),
}
# The quick run: the single-process shapes and the bare chain, to test the harness.
QUICK = ("tracing-on", "sampler-off", "metrics-off", "mesh-tls-off", "no-tracing", "baseline")
CLUSTERED = ("cluster", "hot-cluster")
# The quick run searches one capacity, in a few short steps: enough to exercise the search.
QUICK_SEARCHED = ("tracing-on",)


def chosen(args: argparse.Namespace, plan: Plan) -> list[str]:
    """The configurations to measure: --only's, else the full run's or the quick one's, less
    --no-tracing-run's and --no-cluster's, plus --cluster's in the quick run; with
    --capacity-only, those of them that search their capacity."""
    names = list(args.only) if args.only else _run_of(args, plan)
    if args.capacity_only:
        return [name for name in names if searches(args, name)]
    return names


def searches(args: argparse.Namespace, name: str) -> bool:
    """Whether configuration `name` searches its capacity within the objective in this run."""
    return CONFIGURATIONS[name].searched and (not args.quick or name in QUICK_SEARCHED)


def _run_of(args: argparse.Namespace, plan: Plan) -> list[str]:
    names = list(QUICK if args.quick else CONFIGURATIONS)
    if not plan.no_tracing:
        names.remove("no-tracing")
    clustered = args.cluster if args.cluster is not None else not args.quick
    names = [n for n in names if n not in CLUSTERED]
    if clustered:
        names[names.index("baseline") : names.index("baseline")] = list(CLUSTERED)
    return names


def measure_mesh(
    root: Path,
    key: str,
    configuration: Configuration,
    workload: Workload,
    plan: Plan,
    searched: bool,
) -> Measurement:
    name, shape = configuration.row, configuration.shape
    assert shape is not None, "the bare chain is not a mesh"

    def measured(mesh: Mesh) -> Measurement:
        shedding = name == rows.TRACING_ON  # once is enough: the gateway's admission
        log = mesh.ready.log_dir / "postgres.log" if shape.postgres else None
        found = measure(
            name,
            gateways(mesh),
            mesh.ready.pids,
            plan,
            workload,
            shedding,
            mesh.metrics_addrs,
            log,
            searched,
        )
        return dataclasses.replace(
            found,
            startup_seconds=mesh.ready.startup_seconds,
            ready_seconds=mesh.ready_seconds,
            database="postgres" if shape.postgres else "sqlite",
        )

    return on_mesh(root, key, configuration, workload, measured)


def search_mesh(
    root: Path, key: str, configuration: Configuration, workload: Workload, plan: Plan
) -> Capacity:
    """--capacity-only: the configuration's capacity search, and only what it starts from."""

    def searched(mesh: Mesh) -> Capacity:
        return measure_capacity(configuration.row, gateways(mesh), mesh.ready.pids, plan, workload)

    return on_mesh(root, key, configuration, workload, searched)


def on_mesh(
    root: Path,
    key: str,
    configuration: Configuration,
    workload: Workload,
    measured: Callable[[Mesh], T],
) -> T:
    """`measured` on the configuration's mesh, started again where a port was taken meanwhile."""
    name, shape = configuration.row, configuration.shape
    assert shape is not None, "the bare chain is not a mesh"
    for attempt in range(1, START_ATTEMPTS + 1):
        say(f"{name}: starting the mesh")
        try:
            with running_mesh(root / f"{key}-{attempt}", shape, workload) as mesh:
                say(f"{name}: every service SERVING after {mesh.ready_seconds:.2f} s")
                found = measured(mesh)
                say(f"{name}: stopping the mesh")
            return found
        except MeshStartError as error:
            if not error.port_clash or attempt == START_ATTEMPTS:
                raise
            say(f"{name}: a port was taken meanwhile; starting again on others")
    raise AssertionError("unreachable")


def measure_baseline(root: Path, plan: Plan, workload: Workload) -> Measurement:
    name = rows.BASELINE
    say(f"{name}: starting")
    with running_baseline(root / "baseline") as baseline:
        return measure(name, [baseline.entry], baseline.pids, plan, workload)


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
    parser.add_argument(
        "--accounts",
        type=int,
        default=None,
        help=f"customers the orders are spread over (default: {SPREAD_ACCOUNTS};"
        f" {QUICK_SPREAD_ACCOUNTS} with --quick)",
    )
    parser.add_argument(
        "--only",
        type=_configurations,
        default=None,
        help="measure just these configurations, separated by commas: " + ", ".join(CONFIGURATIONS),
    )
    parser.add_argument(
        "--capacity-only",
        action="store_true",
        help="only the capacity search (after a warm-up and the flat-out run it starts from), "
        "on the chosen configurations that search it: "
        + ", ".join(name for name, c in CONFIGURATIONS.items() if c.searched),
    )
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results")
    parser.add_argument("--keep", action="store_true", help="keep data folders and logs")
    return parser.parse_args(argv)


def _configurations(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGURATIONS]
    if len(set(names)) != len(names):  # a row is one measurement, in a data folder of its own
        raise argparse.ArgumentTypeError(f"a configuration is named twice in {text!r}")
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown configuration {', '.join(unknown) or text!r}; choose from "
            + ", ".join(CONFIGURATIONS)
        )
    return names


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = plans.quick() if args.quick else plans.full(args.rate, args.duration, args.concurrency)
    if not args.no_tracing_run:
        plan = dataclasses.replace(plan, no_tracing=False)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    root = Path(tempfile.mkdtemp(prefix="simplebank-bench-"))
    root.chmod(0o755)  # the cluster's PostgreSQL runs as its own user, below this folder
    accounts = args.accounts or (QUICK_SPREAD_ACCOUNTS if args.quick else SPREAD_ACCOUNTS)
    spread_over = spread(accounts)
    measured: dict[str, Measurement] = {}
    searched: dict[str, Capacity] = {}
    keys = chosen(args, plan)
    if not keys:
        print("bench: none of the chosen configurations searches its capacity", file=sys.stderr)
        return 2
    began = time.monotonic()
    try:
        for key in keys:
            configuration = CONFIGURATIONS[key]
            workload = HOT if configuration.hot else spread_over
            if args.capacity_only:
                searched[configuration.row] = search_mesh(root, key, configuration, workload, plan)
            elif configuration.shape is None:
                measured[configuration.row] = measure_baseline(root, plan, workload)
            else:
                measured[configuration.row] = measure_mesh(
                    root, key, configuration, workload, plan, searches(args, key)
                )
    except Exception as error:
        print(f"bench: failed: {error}\n(data folders and logs kept in {root})", file=sys.stderr)
        return 1
    doc = report.document(measured, plan, describe(), quick=args.quick, searched=searched)
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
