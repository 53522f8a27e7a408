"""A plaintext port that serves grpc.health.v1 alone, for probes that cannot present a certificate.

Kubernetes' native gRPC probes (the kubelet's) speak plaintext or unauthenticated TLS, and an
internal service's port takes only callers with a certificate of the mesh. So a process may also
serve its health here (<SERVICE>_HEALTH_ADDR), as meshes do for their probes (Istio rewrites them
to its agent's plain port). It is the same health servicer as on the main port, so both show the
same SERVING or NOT_SERVING; nothing else is served here: no business service, no reflection,
no faults. All it tells a caller is whether the process is serving.
"""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from mesh.limits import SERVER_OPTIONS


class HealthPort:
    """A grpc.aio server of its own, holding only `health`, on a plaintext port."""

    def __init__(self, address: str, health: HealthServicer) -> None:
        self._address = address
        # No SO_REUSEPORT, as on the main port: a second process must not answer for this one;
        # and the same small messages and few streams per connection.
        self._server = grpc.aio.server(options=list(SERVER_OPTIONS))
        health_pb2_grpc.add_HealthServicer_to_server(health, self._server)
        self.port = 0

    def bind(self) -> int:
        """Bind the address (before anything starts, so a taken port fails fast); the port."""
        try:
            self.port = self._server.add_insecure_port(self._address)
        except RuntimeError as error:
            raise OSError(f"cannot listen on {self._address} (health): {error}") from None
        return self.port

    async def start(self) -> None:
        await self._server.start()

    async def stop(self, grace: float) -> None:
        await self._server.stop(grace)
