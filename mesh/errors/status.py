"""The one table from domain errors to gRPC status codes, with google.rpc details attached."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from mesh.errors import kinds

DOMAIN = "simplebank"

STATUS_CODES: dict[type[kinds.DomainError], grpc.StatusCode] = {
    kinds.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    kinds.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    kinds.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    kinds.NotFound: grpc.StatusCode.NOT_FOUND,
    kinds.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    kinds.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    kinds.Aborted: grpc.StatusCode.ABORTED,
    kinds.Unavailable: grpc.StatusCode.UNAVAILABLE,
    kinds.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
    kinds.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def code_for(error: kinds.DomainError) -> grpc.StatusCode:
    """The status code of an error, found through its nearest kind in the table."""
    for kind in type(error).__mro__:
        if kind in STATUS_CODES:
            return STATUS_CODES[kind]
    return grpc.StatusCode.INTERNAL


def to_status(error: kinds.DomainError) -> grpc.Status:
    """A grpc.Status whose trailing metadata holds a google.rpc.Status with details."""
    code = code_for(error)
    detail = any_pb2.Any()
    if isinstance(error, kinds.InvalidArgument):
        detail.Pack(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=v.field, description=v.description
                    )
                    for v in error.violations
                ]
            )
        )
    else:
        detail.Pack(
            error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)
        )
    details = [detail]
    if isinstance(error, kinds.ResourceExhausted):
        retry = any_pb2.Any()
        delay = duration_pb2.Duration()
        delay.FromNanoseconds(int(error.retry_after_seconds * 1e9))
        retry.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
        details.append(retry)
    status = status_pb2.Status(
        code=getattr(code_pb2, code.name), message=error.message, details=details
    )
    return rpc_status.to_status(status)


def details_of(error: grpc.aio.AioRpcError | grpc.RpcError) -> list[Any]:
    """The google.rpc detail messages (BadRequest, ErrorInfo, RetryInfo) a failed call carries."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return []
    found: list[Any] = []
    for detail in status.details:
        for kind in (
            error_details_pb2.BadRequest,
            error_details_pb2.ErrorInfo,
            error_details_pb2.RetryInfo,
        ):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                found.append(message)
    return found


def reason_of(error: grpc.aio.AioRpcError | grpc.RpcError) -> str:
    """The ErrorInfo reason of a failed call, or "" if it has none."""
    for detail in details_of(error):
        if isinstance(detail, error_details_pb2.ErrorInfo):
            return str(detail.reason)
    return ""
