"""simplebank.ops.v1.FaultService on every service's port, and the interceptor that applies
RPC faults; both off unless OPS_FAULTS_ENABLED=true."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mesh.errors import kinds
from mesh.errors.status import DOMAIN
from mesh.faults.in_force import FaultBook
from mesh.faults.settings import ENABLED_VARIABLE, Fault
from mesh.interceptor import Behavior, UnaryServerInterceptor
from simplebank.ops.v1 import ops_pb2, ops_pb2_grpc

SERVICE_NAME = ops_pb2.DESCRIPTOR.services_by_name["FaultService"].full_name
INJECTED_REASON = "FAULT_INJECTED"


def fault_from(message: ops_pb2.Fault) -> Fault:
    return Fault(
        target=message.target,
        delay_ms=message.delay_ms,
        error_code=message.error_code.strip().upper(),
        percent=message.percent,
        seed=message.seed if message.HasField("seed") else None,
    )


def fault_message(fault: Fault) -> ops_pb2.Fault:
    return ops_pb2.Fault(
        target=fault.target,
        delay_ms=fault.delay_ms,
        error_code=fault.error_code,
        percent=fault.percent,
        seed=fault.seed,
    )


class FaultServicer(ops_pb2_grpc.FaultServiceServicer):
    """Translates only; `book` is None when fault injection is off."""

    def __init__(self, book: FaultBook | None) -> None:
        self._book = book

    def _enabled(self) -> FaultBook:
        if self._book is None:
            raise kinds.PermissionDenied(
                f"fault injection is off: start the service with {ENABLED_VARIABLE}=true",
                reason="FAULTS_DISABLED",
            )
        return self._book

    async def SetFault(
        self,
        request: ops_pb2.SetFaultRequest,
        context: grpc.aio.ServicerContext[ops_pb2.SetFaultRequest, ops_pb2.SetFaultResponse],
    ) -> ops_pb2.SetFaultResponse:
        fault = self._enabled().set(fault_from(request.fault))
        return ops_pb2.SetFaultResponse(fault=fault_message(fault))

    async def ClearFaults(
        self,
        request: ops_pb2.ClearFaultsRequest,
        context: grpc.aio.ServicerContext[ops_pb2.ClearFaultsRequest, ops_pb2.ClearFaultsResponse],
    ) -> ops_pb2.ClearFaultsResponse:
        return ops_pb2.ClearFaultsResponse(cleared=self._enabled().clear(request.target))

    async def ListFaults(
        self,
        request: ops_pb2.ListFaultsRequest,
        context: grpc.aio.ServicerContext[ops_pb2.ListFaultsRequest, ops_pb2.ListFaultsResponse],
    ) -> ops_pb2.ListFaultsResponse:
        book = self._enabled()
        return ops_pb2.ListFaultsResponse(
            faults=[fault_message(f) for f in book.faults()], targets=book.targets
        )


def injected_status(fault: Fault) -> grpc.Status:
    """The status a faulted call fails with: its code, and ErrorInfo reason FAULT_INJECTED so
    nobody mistakes it for a real failure when reading the answer."""
    code = grpc.StatusCode[fault.error_code]
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.ErrorInfo(reason=INJECTED_REASON, domain=DOMAIN))
    message = f"injected fault: {fault.error_code}"
    status = status_pb2.Status(code=getattr(code_pb2, code.name), message=message, details=[detail])
    return rpc_status.to_status(status)


class FaultInterceptor(UnaryServerInterceptor):
    """Delays or fails the calls a fault in `book` hits, inside the call's span."""

    def __init__(self, book: FaultBook) -> None:
        self._book = book

    async def around(self, behavior: Behavior, request: Any, context: Any, method: str) -> Any:
        fault = await self._book.inject(method)
        if fault is not None and fault.error_code:
            status = injected_status(fault)
            await context.abort(status.code, status.details, status.trailing_metadata)
        return await behavior(request, context)
