"""Is a service SERVING? One grpc.health.v1 check, and `python -m mesh.healthcheck host:port`."""

from __future__ import annotations

import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


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


def main(argv: list[str]) -> int:
    """Exit 0 if SERVING: compose's health probe."""
    if len(argv) not in (2, 3):
        print("usage: python -m mesh.healthcheck host:port [service]", file=sys.stderr)
        return 2
    with grpc.insecure_channel(argv[1]) as channel:
        serving = is_serving(channel, argv[2] if len(argv) == 3 else "")
    print("SERVING" if serving else "NOT_SERVING")
    return 0 if serving else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
