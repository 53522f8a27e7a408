"""The one place channels are made: timeout, retries and circuit breaker as data, tracing on."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from mesh.calls.breaker import BreakerInterceptor, BreakerPolicy, CircuitBreaker
from mesh.calls.deadline import DeadlineClientInterceptor
from mesh.rpc_metrics import ClientMetricsInterceptor
from mesh.security.tls import ChannelTls
from mesh.span_marks import CallSpanInterceptor
from tracing.rpc import traced_calls

# Several replicas: calls go round the ready ones, and a replica whose health service says
# NOT_SERVING (or that went away) is left out until it serves again.
BALANCING: dict[str, Any] = {
    "loadBalancingConfig": [{"round_robin": {}}],
    "healthCheckConfig": {"serviceName": ""},
}


@dataclass(frozen=True)
class CallPolicy:
    """How calls on a channel behave when nobody upstream set a shorter deadline."""

    timeout_seconds: float = 1.0
    max_attempts: int = 3
    initial_backoff_seconds: float = 0.05
    max_backoff_seconds: float = 0.5
    # When the channel stops calling an upstream that keeps failing (mesh.calls.breaker).
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)

    def service_config(self, balanced: bool = False) -> str:
        """gRPC service config: retries on UNAVAILABLE only.

        UNAVAILABLE means the call never reached a handler, so retrying it is safe; every
        other code may mean the work was done, and idempotency keys handle those at a higher
        level. The timeout is not in here: grpcio applies a service-config timeout about a
        second early (grpc/grpc#34547, seen here as every call under 2 s failing at once), so
        DeadlineClientInterceptor applies it instead.
        """
        balancing = BALANCING if balanced else {}
        if self.max_attempts < 2:  # gRPC refuses a retry policy of one attempt
            return json.dumps({**balancing, "methodConfig": [{"name": [{}], "waitForReady": True}]})
        return json.dumps(
            {
                **balancing,
                "methodConfig": [
                    {
                        "name": [{}],
                        # Wait for an upstream that is reconnecting (a restart) rather than
                        # failing at once; the timeout still bounds the wait.
                        "waitForReady": True,
                        "retryPolicy": {
                            "maxAttempts": self.max_attempts,
                            "initialBackoff": f"{self.initial_backoff_seconds}s",
                            "maxBackoff": f"{self.max_backoff_seconds}s",
                            "backoffMultiplier": 2,
                            "retryableStatusCodes": ["UNAVAILABLE"],
                        },
                    }
                ],
            }
        )


def channel_target(addr: str) -> str:
    """What grpcio dials: host:port, or for several replicas (a,b) `ipv4:a,b` when every host
    is an IPv4 address (a DNS name may stand for many replicas on its own)."""
    addrs = addr.split(",")
    if len(addrs) == 1:
        return addr
    if all(_is_ipv4(a.rpartition(":")[0]) for a in addrs):
        return "ipv4:" + ",".join(addrs)
    raise ValueError(f"{addr!r}: a list of replicas must be IPv4 host:port addresses")


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def make_channel(
    target: str,
    policy: CallPolicy | None = None,
    breaker: CircuitBreaker | None = None,
    tls: ChannelTls | None = None,
) -> grpc.aio.Channel:
    """A long-lived channel to an upstream behind `breaker` (one of its own from the policy if
    none is given): mTLS with `tls` (the mesh), else plaintext."""
    policy = policy or CallPolicy()
    breaker = breaker or CircuitBreaker(target, policy.breaker)
    # Deadline first, so the timing, the tracing span and the retries see the shortened timeout.
    # A call the breaker refuses is timed, and marked by an event on the caller's span: it gets
    # no CLIENT span, since the instrumentation leaves a span open when a call fails before it
    # starts (opentelemetry-instrumentation-grpc 0.66b2, _aio_client.py).
    interceptors: list[Any] = [
        DeadlineClientInterceptor(policy.timeout_seconds),
        ClientMetricsInterceptor(target),
        BreakerInterceptor(breaker),
        *aio_client_interceptors(filter_=traced_calls()),  # type: ignore[no-untyped-call]
        CallSpanInterceptor(),
    ]
    balanced = "," in target
    target = channel_target(target)
    options = [
        ("grpc.service_config", policy.service_config(balanced)),
        ("grpc.enable_retries", 1),
        # Reconnect quickly after an upstream restarts instead of backing off for seconds.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        # Resolve the name again at most a second after a connection fails, not gRPC's default
        # 30 s: a headless Service's name has a new address once its pod is replaced.
        ("grpc.dns_min_time_between_resolutions_ms", 1000),
    ]
    if tls is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    return grpc.aio.secure_channel(
        target, tls.credentials(), options=options + tls.options(), interceptors=interceptors
    )


class Upstream:
    """A channel to one upstream service, closed when the service stops."""

    def __init__(
        self, target: str, policy: CallPolicy | None = None, *, tls: ChannelTls | None = None
    ) -> None:
        self.target = target
        policy = policy or CallPolicy()
        self.breaker = CircuitBreaker(target, policy.breaker)
        self.channel = make_channel(target, policy, self.breaker, tls)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.channel.close(grace=None)

    async def check(self) -> bool:
        """Health check: the upstream is reachable, or at least not known to be down."""
        state = self.channel.get_state(try_to_connect=True)
        return state is not grpc.ChannelConnectivity.TRANSIENT_FAILURE
