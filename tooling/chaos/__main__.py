"""make chaos: load, kills, freezes, restarts and faults on a mesh of its own; then the checks.

    python -m tooling.chaos [--seed 1] [--duration 30] [--actions 8] [--rate 6] [--keep] [--cluster]

Starts `tooling/run.py` on free loopback ports (demo data, no tracing or watchers), places
orders through the gateway at `rate` a second, and at seeded moments kills (-9), freezes
(SIGSTOP/SIGCONT), restarts (SIGTERM) a service or NATS, or sets a fault through the
FaultService. Then it clears the faults, lets the events settle, and checks the invariants.
Prints a table; exits 1 if any check broke. Traffic only to 127.0.0.1.

--cluster: the same on `make cluster`'s shape (two replicas each on PostgreSQL, three NATS
nodes), the load round-robin over both gateways, each action a kill -9 of a random replica
or of the NATS stream's leader, in turn; the table adds the share of calls the mesh failed
(errors other than the customer's own FAILED_PRECONDITION) in the seconds after each kill.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tooling.chaos.actions import Chaos
from tooling.chaos.checks import Watch, final_checks, settle
from tooling.chaos.load import Load
from tooling.chaos.mesh import running_mesh
from tooling.chaos.report import failed_during_kills, table

SETTLE_SECONDS = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load")
    parser.add_argument("--actions", type=int, default=8, help="how many things to break")
    parser.add_argument("--rate", type=float, default=6.0, help="orders a second")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    parser.add_argument(
        "--cluster", action="store_true", help="make cluster's shape; kills of replicas and leader"
    )
    args = parser.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="simplebank-chaos-"))
    try:
        with running_mesh(root, args.cluster) as mesh:
            chaos = Chaos(mesh, args.seed)
            watch = Watch(mesh.databases())
            load = Load(mesh.current().address_of("gateway"), args.rate)
            moments = chaos.moments(args.actions, args.duration)
            began = time.monotonic()
            load.start()
            for at in moments:
                while time.monotonic() - began < at:
                    watch.look()
                    time.sleep(min(1.0, max(at - (time.monotonic() - began), 0)))
                at = round(time.monotonic() - began, 1)
                action = chaos.one_in_cluster(at) if args.cluster else chaos.one(at)
                print(f"  {action.at:5.1f}s  {action.kind} {action.target}: {action.detail}")
            while time.monotonic() - began < args.duration:
                watch.look()
                time.sleep(1.0)
            load.stop()
            chaos.clear_faults()
            snapshot, pending = settle(mesh.databases(), SETTLE_SECONDS)
            checks = final_checks(watch, snapshot, pending, load.accepted, mesh.data_dir / "logs")
        print(table(args.seed, chaos.done, load.answers, checks))
        if args.cluster:
            print(failed_during_kills(chaos.done, load, began))
        print(
            f"  ({watch.snapshots} snapshots checked while it ran; logs in {root})"
            if args.keep
            else f"  ({watch.snapshots} snapshots checked while it ran)"
        )
        return 0 if all(check.held for check in checks) else 1
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
