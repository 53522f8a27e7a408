"""The mesh chaos runs against: the harness's mesh (or its `--cluster` shape) with the demo data,
which is what the invariants expect, and no tracing or watchers: chaos needs the mesh and its
databases only, and the machine's two cores for the load."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tooling.harness import mesh as harness
from tooling.harness.mesh import Mesh

FLAGS = ("--no-tracing", "--no-observability")


@contextlib.contextmanager
def running_mesh(root: Path, cluster: bool = False) -> Iterator[Mesh]:
    """`cluster`: two replicas of each service on PostgreSQL and three NATS nodes (`make
    cluster`)."""
    env = harness.without_otel(os.environ)
    # The launcher turns fault injection on for the internal services (their mTLS ports).
    env |= {"SHUTDOWN_GRACE_SECONDS": "1"}
    with harness.running(root, (*FLAGS, *(["--cluster"] if cluster else [])), env) as mesh:
        yield mesh
