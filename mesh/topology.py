"""The five services of the mesh as data: port, events in and out, the module that runs each.

The launcher, the benchmark and the tests read this table; nothing here imports more than the
standard library, so a script can read it before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int  # the contract's default; <NAME>_ADDR moves it
    metrics_port: int  # Prometheus scrapes it; <NAME>_METRICS_ADDR moves it
    # Plaintext grpc.health.v1 and nothing else, for probes that cannot present a certificate
    # (the kubelet's): compose and Kubernetes set <NAME>_HEALTH_ADDR to it; unset, no such port.
    health_port: int
    consumes: tuple[str, ...] = ()  # event types, one durable consumer each
    publishes: tuple[str, ...] = ()

    @property
    def address(self) -> str:
        """Where it is called unless <NAME>_ADDR says otherwise."""
        return f"{HOST}:{self.port}"

    @property
    def address_variable(self) -> str:
        return f"{self.name.upper()}_ADDR"

    @property
    def metrics_address(self) -> str:
        return f"{HOST}:{self.metrics_port}"

    @property
    def metrics_variable(self) -> str:
        return f"{self.name.upper()}_METRICS_ADDR"

    @property
    def health_address(self) -> str:
        """The health port on loopback: an example for messages, not a default."""
        return f"{HOST}:{self.health_port}"

    @property
    def health_variable(self) -> str:
        return f"{self.name.upper()}_HEALTH_ADDR"

    @property
    def module(self) -> str:
        """What `python -m` runs."""
        return f"services.{self.name}"


# Edge first, then as the contract numbers the ports.
SERVICES = (
    ServiceInfo("gateway", 50051, 9461, 9471),
    ServiceInfo(
        "orders",
        50052,
        9462,
        9472,
        consumes=("OrderPlaced", "OrderExecuted", "OrderRejected", "FeeCharged", "FeeRefunded"),
        publishes=("OrderCreated",),
    ),
    ServiceInfo(
        "accounts",
        50053,
        9463,
        9473,
        consumes=("FeeCharged", "FeeRefunded", "OrderExecuted", "OrderRejected"),
    ),
    ServiceInfo(
        "fees",
        50054,
        9464,
        9474,
        consumes=("OrderPlaced", "OrderRejected"),
        publishes=("FeeCharged", "FeeRefunded"),
    ),
    ServiceInfo(
        "market",
        50055,
        9465,
        9475,
        consumes=("OrderCreated",),
        publishes=("OrderPlaced", "OrderExecuted", "OrderRejected"),
    ),
)

NAMES = tuple(service.name for service in SERVICES)
BY_NAME = {service.name: service for service in SERVICES}
