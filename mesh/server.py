"""grpc.aio server host: health, reflection, interceptors, components, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from opentelemetry.instrumentation.grpc import aio_server_interceptor

from mesh import reflection
from mesh.calls.channels import Upstream
from mesh.calls.deadline import DeadlineServerInterceptor
from mesh.config import TLS_OFF_VARIABLE, ConfigError, ServerConfig
from mesh.errors import kinds
from mesh.errors.refusals import DomainErrorInterceptor
from mesh.events.consumer import EventConsumer
from mesh.faults.in_force import FaultBook
from mesh.faults.service import SERVICE_NAME as FAULT_SERVICE
from mesh.faults.service import FaultInterceptor, FaultServicer
from mesh.faults.settings import ENABLED_VARIABLE, FAULTS_VARIABLE
from mesh.health.port import HealthPort
from mesh.health.service import BoundedHealthServicer, Check, HealthReporter
from mesh.input_check import ControlCharacterInterceptor
from mesh.limits import SERVER_OPTIONS
from mesh.rpc_metrics import ServerMetricsInterceptor
from mesh.security.authz import AuthorizationInterceptor
from mesh.security.tls import Listener, add_port
from mesh.span_marks import CrashSpanInterceptor
from simplebank.ops.v1 import ops_pb2_grpc
from tracing.rpc import traced_calls

log = logging.getLogger(__name__)

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


class Component(Protocol):
    """Something that runs beside the server: a database, a relay, a consumer."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class Service:
    """Everything a process serves: its servicers, its background components, its checks."""

    config: ServerConfig
    register: Callable[[grpc.aio.Server], None]
    service_names: Sequence[str]
    components: Sequence[Component] = ()
    required_checks: Mapping[str, Check] = field(default_factory=dict)
    informational_checks: Mapping[str, Check] = field(default_factory=dict)
    # The service's own, run inside the tracing span and the timing, before anything else (the
    # gateway's admission control).
    interceptors: Sequence[grpc.aio.ServerInterceptor] = ()  # type: ignore[type-arg]


def rpc_targets(service_names: Sequence[str]) -> list[str]:
    """Every method of these services by its full name, /package.Service/Method."""
    pool = descriptor_pool.Default()
    return [
        f"/{name}/{method.name}"
        for name in service_names
        for method in pool.FindServiceByName(name).methods
    ]


def serves_faults(config: ServerConfig) -> bool:
    """FaultService is served only on an mTLS port under the authorization policy, so only the
    identity the policy names (the operator) reaches it; never on a plaintext or public port."""
    return config.listener is Listener.MTLS and config.policy is not None


def fault_book(service: Service) -> FaultBook | None:
    """The process's faults, None when fault injection is off. Its consumers are handed the
    book, so they can fail the events a fault targets."""
    settings = service.config.faults
    if not settings.enabled:
        return None
    if not serves_faults(service.config):
        raise ConfigError(
            f"{ENABLED_VARIABLE}=true needs an mTLS port with the authorization policy:"
            f" {service.config.name} listens {service.config.listener.value}"
            " (fault injection is never served without an operator identity)"
        )
    consumers = [c for c in service.components if isinstance(c, EventConsumer)]
    targets = [*rpc_targets(service.service_names), *(s for c in consumers for s in c.subjects)]
    try:
        book = FaultBook(targets, settings.initial)
    except kinds.InvalidArgument as error:
        raise ConfigError(f"{FAULTS_VARIABLE}: {error.message}") from None
    for consumer in consumers:
        consumer.faults = book
    return book


class ServiceHost:
    """Starts a Service's components and server together and stops them together."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self.faults = fault_book(service)
        faults = [] if self.faults is None else [FaultInterceptor(self.faults)]
        policy = service.config.policy
        self._server = grpc.aio.server(
            # Outermost first: the tracing span wraps the deadline and the error translation,
            # and the call is timed with the status the error translation gave it. Faults are
            # injected inside the span, so they show on it and in the timing.
            interceptors=[
                aio_server_interceptor(filter_=traced_calls()),  # type: ignore[no-untyped-call]
                CrashSpanInterceptor(),
                ServerMetricsInterceptor(),
                # Who may call what: before any handler runs, a denial timed and traced too.
                *([AuthorizationInterceptor(policy)] if policy is not None else []),
                # No control character in any string of any request reaches a handler.
                ControlCharacterInterceptor(),
                *service.interceptors,
                *faults,
                DeadlineServerInterceptor(),
                DomainErrorInterceptor(),
            ],
            options=list(SERVER_OPTIONS),
        )
        self._health: HealthServicer = BoundedHealthServicer()
        upstreams = [c for c in service.components if isinstance(c, Upstream)]
        self._reporter = HealthReporter(
            self._health,
            list(service.service_names),
            service.required_checks,
            service.informational_checks,
            circuits=lambda: {u.target: u.breaker.state.name for u in upstreams},
        )
        # The same servicer on a plaintext port of its own, when one is configured.
        health_addr = service.config.health_addr
        self.health_port = HealthPort(health_addr, self._health) if health_addr else None
        self._started: list[Component] = []
        self.port = 0

    async def start(self) -> int:
        """Bind the port, start the components, then serve; returns the bound port."""
        service = self._service
        service.register(self._server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, self._server)
        operations = []
        if serves_faults(service.config):
            servicer = FaultServicer(self.faults)
            ops_pb2_grpc.add_FaultServiceServicer_to_server(servicer, self._server)
            operations.append(FAULT_SERVICE)
        reflection.enable([*service.service_names, *operations, HEALTH_SERVICE], self._server)
        # Bind before starting anything, so a taken port fails fast with nothing to undo.
        try:
            config = service.config
            self.port = add_port(self._server, config.listen_addr, config.port_tls, config.listener)
        except RuntimeError as error:
            raise OSError(f"cannot listen on {service.config.listen_addr}: {error}") from None
        if self.health_port is not None:
            self.health_port.bind()
        for component in service.components:
            await component.start()
            self._started.append(component)
        # The health servicer says SERVING for "" from birth; set the real status first.
        await self._reporter.start()
        await self._server.start()
        if self.health_port is not None:
            await self.health_port.start()
        if service.config.tls_off_for_benchmark:
            log.warning(
                "MESH_TLS=off: no mTLS and no authorization on this process (benchmark only)",
                extra={"variable": TLS_OFF_VARIABLE},
            )
        if self.faults is not None:
            assert service.config.policy is not None  # serves_faults
            callers = service.config.policy.callers_of(f"/{FAULT_SERVICE}/SetFault")
            log.warning(
                "fault injection is on",
                extra={"variable": ENABLED_VARIABLE, "allowed_callers": callers},
            )
        log.info(
            "serving",
            extra={
                "addr": service.config.listen_addr,
                "port": self.port,
                "listener": service.config.listener.value,
                "health_addr": service.config.health_addr,
            },
        )
        return self.port

    async def stop(self) -> None:
        """NOT_SERVING first, then let in-flight calls finish, then stop the components."""
        log.info("shutting down", extra={"grace_seconds": self._service.config.shutdown_grace})
        await self._reporter.stop()
        await asyncio.sleep(self._service.config.shutdown_drain)
        await self._server.stop(self._service.config.shutdown_grace)
        if self.health_port is not None:
            # Last: probes saw NOT_SERVING there all through the drain and the grace.
            await self.health_port.stop(0)
        for component in reversed(self._started):
            try:
                await component.stop()
            except Exception:
                log.exception("component failed to stop", extra={"component": repr(component)})
        self._started.clear()
        log.info("stopped")

    async def run_until_signalled(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        await self.start()
        await stopping.wait()
        await self.stop()
