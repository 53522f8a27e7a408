"""make profile: the mesh under a steady load, each service sampled by py-spy into a flame graph.

    python -m tooling.bench.profile [--rate 100] [--duration 20] [--label before] [--no-py-spy]
                                    [--shape postgres] [--spread]

Starts the mesh as `make bench` does (tracing, metrics and mTLS on), warms it up, then loads
PlaceSellOrder at a fixed rate with ghz while one `py-spy record --nonblocking` per service
samples it (it reads the process's memory without stopping it, so the service's own timing is
not disturbed). Writes results/profiles/<label>/<service>.svg and summary.txt: CPU per order of
every process, and each service's top costs by package and by function. `--no-py-spy` only
measures CPU per order, the figure to compare levers with on a shared machine.
`--shape postgres` profiles the mesh on PostgreSQL (`--postgres`; the server's CPU is counted,
not sampled), `--shape cluster` make cluster's shape (every gateway loaded; CPU per order only,
its replicas are not sampled); `--spread` spreads the orders over the bench's customers instead
of selling from the one hot account.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tooling.bench import cpu, fan_out, flamegraph, memory
from tooling.bench.ghz import Load
from tooling.bench.progress import say
from tooling.bench.scenario import CORE
from tooling.bench.shapes import CLUSTER, POSTGRES, TRACING_ON, gateways, running_mesh
from tooling.bench.workload import HOT, spread
from tooling.launcher.paths import REPO_ROOT

SERVICES = ("gateway", "orders", "accounts", "fees", "market")
PY_SPY = Path(sys.executable).parent / "py-spy"
TOP = 12
SHAPES = {"tracing-on": TRACING_ON, "postgres": POSTGRES, "cluster": CLUSTER}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tooling.bench.profile", description=__doc__)
    parser.add_argument(
        "--rate", type=int, default=100, help="orders/s while sampling; 0: flat out"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="workers when flat out")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of sampling")
    parser.add_argument("--samples", type=int, default=97, help="py-spy samples per second")
    parser.add_argument("--label", default="latest", help="results/profiles/<label>/")
    parser.add_argument("--keep", action="store_true", help="keep the raw stacks and logs")
    parser.add_argument("--py-spy", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tracing-on")
    parser.add_argument(
        "--spread", action="store_true", help="orders spread over many customers, not one"
    )
    parser.add_argument("--results", type=Path, default=REPO_ROOT / "results" / "profiles")
    return parser.parse_args(argv)


def record(pid: int, seconds: float, rate: int, out: Path) -> subprocess.Popen[bytes]:
    # --gil: only the thread holding the GIL, i.e. the Python work that competes for the
    # process's one core; threads waiting in epoll or on a lock are left out.
    args = [str(PY_SPY), "record", "--pid", str(pid), "--nonblocking", "--gil"]
    args += ["--full-filenames", "--format", "raw"]
    args += ["--rate", str(rate), "--duration", str(int(seconds)), "--output", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


# Costs that span several frames: the share of samples with any frame matching.
INCLUSIVE = (
    ("span export (BatchSpanProcessor thread)", "BatchProcessor.worker"),
    ("span start/end (OpenTelemetry SDK)", "opentelemetry/sdk/trace/__init__.py"),
    ("metrics SDK", "opentelemetry/sdk/metrics"),
    ("context propagation", "opentelemetry/propagat"),
    ("database thread handoff (submit)", "ThreadPoolExecutor.submit"),
    ("database worker thread", "concurrent/futures/thread.py:8"),
    ("nats-py", "/nats/"),
    ("event consumers (mesh/events/consumer.py)", "mesh/events/consumer.py"),
    ("outbox relay (mesh/events/outbox.py)", "mesh/events/outbox.py"),
    ("JSON log formatting", "mesh/logs.py"),
    ("log shipping", "tracing/log_"),
)


def short(frame: str) -> str:
    """A frame with its file relative to site-packages, the standard library or the repository."""
    prefix = "|".join(re.escape(p) for p in ("site-packages/", "python3.11/", f"{REPO_ROOT}/"))
    return re.sub(rf"\([^()]*(?:{prefix})", "(", frame)


def summarize(name: str, stacks: Counter[tuple[str, ...]]) -> list[str]:
    total = max(sum(stacks.values()), 1)
    functions, packages = flamegraph.self_time(stacks)
    by_package = (f"{p} {100 * n / total:.0f}%" for p, n in packages.most_common(TOP))
    lines = [f"## {name}: {total} samples holding the GIL", "  self, by package: "]
    lines[-1] += ", ".join(by_package)
    lines.append("  inclusive:")
    for label, needle in INCLUSIVE:
        share = 100 * flamegraph.inclusive(stacks, needle) / total
        lines.append(f"    {share:5.1f}%  {label}")
    lines.append("  top self time:")
    lines += [f"    {100 * n / total:5.1f}%  {short(f)}" for f, n in functions.most_common(TOP)]
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    folder = args.results / args.label
    folder.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="simplebank-profile-"))
    # The hot account by default, as every profile so far: its figures compare with theirs.
    workload = spread() if args.spread else HOT
    with running_mesh(root, SHAPES[args.shape], workload) as mesh:
        say(f"mesh SERVING; warming up (load {os.getloadavg()[0]:.1f})")
        fan_out.run(gateways(mesh), Load(concurrency=16, total=600), "warm", workload)
        cpu.wait_until_idle(mesh.ready.pids, 30)
        samplers = {}
        if args.py_spy:
            samplers = {
                name: record(
                    mesh.ready.pids[name], args.duration, args.samples, root / f"{name}.txt"
                )
                for name in SERVICES
                if name in mesh.ready.pids  # the cluster's replicas are not sampled
            }
        workers = max(50, args.rate // 4) if args.rate else args.concurrency
        load = Load(concurrency=workers, seconds=args.duration, rate=args.rate)
        say(f"loading {args.rate or 'flat out'}/s for {args.duration:g} s")
        before = cpu.snapshot(mesh.ready.pids)
        result = fan_out.run(gateways(mesh), load, "prof", workload)
        cpu.wait_until_idle(mesh.ready.pids, 30)
        used = cpu.used_since(before, mesh.ready.pids)
        core = [pid for name, pid in mesh.ready.pids.items() if name in CORE]
        resident = memory.snapshot(mesh.ready.pids)
        core_mb = memory.together_mb(core)
        for name, sampler in samplers.items():
            _, errors = sampler.communicate(timeout=args.duration + 60)
            if sampler.returncode != 0:
                say(f"py-spy on {name} failed: {errors.decode(errors='replace').strip()}")
    load_average = os.getloadavg()
    kinds = ", ".join(f"{kind}: {n}" for kind, n in result.failures.items())
    failures = f" ({kinds})" if kinds else ""
    lines = [
        f"# profile '{args.label}': {result.ok} orders at {args.rate or 'flat out'}/s"
        f" ({result.rps:.0f}/s) for {args.duration:g} s,"
        f" p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, {result.errors} failed"
        f"{failures};"
        f" load average {load_average[0]:.1f} {load_average[1]:.1f}",
        "CPU ms per order: "
        + ", ".join(f"{n} {1000 * s / max(result.ok, 1):.2f}" for n, s in used.items())
        + f"; all {1000 * sum(used.values()) / max(result.ok, 1):.2f}",
        "RSS MB after load: "
        + ", ".join(f"{n} {r.rss_mb:.0f}" for n, r in resident.items())
        + f"; core mesh (services, nats, jaeger; shared pages once) {core_mb:.0f}",
    ]
    for name in samplers:
        raw = root / f"{name}.txt"
        if not raw.exists():
            continue
        stacks = flamegraph.read(raw)
        readable = Counter({tuple(map(short, stack)): n for stack, n in stacks.items()})
        (folder / f"{name}.svg").write_text(flamegraph.svg(readable, f"{name}: {args.label}"))
        lines += summarize(name, stacks)
    text = "\n".join(lines) + "\n"
    print(text)
    if samplers:
        (folder / "summary.txt").write_text(text)
        print(f"written to {folder}")
    if args.keep:
        print(f"raw stacks and logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if result.errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
