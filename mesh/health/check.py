"""Is a service SERVING? One grpc.health.v1 check, and `python -m mesh.health.check host:port`."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.security.identity import PROBE
from mesh.security.tls import ChannelTls, MeshTls


def is_serving(channel: grpc.Channel, service: str = "", timeout: float = 2.0) -> bool:
    """Ask grpc.health.v1 once; any failure to answer counts as not serving.

    The overall health (service "") is SERVING when the service says its dependencies are up.
    """
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
    except grpc.RpcError:
        return False
    return bool(response.status == health_pb2.HealthCheckResponse.SERVING)


def health_channel(
    address: str, mtls_to: str = "", certs_dir: Path | None = None, options: Sequence[Any] = ()
) -> grpc.Channel:
    """A channel for health checks: as the `probe` identity (which may call nothing but
    grpc.health.v1) to the internal service `mtls_to`, plaintext when that is empty."""
    if not mtls_to or certs_dir is None:
        return grpc.insecure_channel(address, options=list(options))
    tls = ChannelTls(MeshTls(PROBE, certs_dir), mtls_to)
    return grpc.secure_channel(address, tls.credentials(), options=[*options, *tls.options()])


def main(argv: Sequence[str]) -> int:
    """Exit 0 if SERVING: compose's health probe."""
    parser = argparse.ArgumentParser(prog="python -m mesh.health.check")
    parser.add_argument("address", help="host:port")
    parser.add_argument("service", nargs="?", default="", help="a service name ('' = overall)")
    parser.add_argument(
        "--mtls",
        metavar="SERVICE",
        default="",
        help="the internal service listening there: check as the probe identity, with the "
        "certificates in $MESH_CERTS_DIR (default $DATA_DIR/certs)",
    )
    args = parser.parse_args(argv[1:])
    certs = os.environ.get("MESH_CERTS_DIR") or str(
        Path(os.environ.get("DATA_DIR", "data")) / "certs"
    )
    with health_channel(args.address, args.mtls, Path(certs)) as channel:
        serving = is_serving(channel, args.service)
    print("SERVING" if serving else "NOT_SERVING")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
