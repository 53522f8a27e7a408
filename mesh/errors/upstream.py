"""Calls to other services: their refusals come back as the same domain errors, details intact."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2

from mesh.errors import kinds
from mesh.errors.status import DOMAIN, STATUS_CODES, details_of

T = TypeVar("T")

_KINDS = {code: kind for kind, code in STATUS_CODES.items()}


def domain_error_from(error: grpc.aio.AioRpcError, upstream: str) -> kinds.DomainError:
    """The DomainError an upstream refusal stands for, so it can be passed on to our caller.

    Codes that mean the call did not get through become Unavailable or DeadlineExceeded; an
    upstream INTERNAL or UNKNOWN is hidden behind Unavailable rather than leaked. An open
    circuit keeps its reason CIRCUIT_OPEN all the way to the client.
    """
    code = error.code()
    message = error.details() or code.name
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return kinds.DeadlineExceeded(f"{upstream} did not answer in time")
    kind = _KINDS.get(code)
    found = details_of(error)
    if kind is None or kind in (kinds.Unavailable, kinds.DeadlineExceeded):
        ours = [
            d for d in found if isinstance(d, error_details_pb2.ErrorInfo) and d.domain == DOMAIN
        ]
        # Only a refusal the mesh itself worded (ErrorInfo of our domain) is passed on in words:
        # gRPC's own text (addresses, "Exception calling application: ...") and an INTERNAL or
        # UNKNOWN (a class name, a database's host:port) never reach the caller, only the span.
        said = f": {message}" if ours and kind is kinds.Unavailable else ""
        # An open circuit is worth telling the client about: it fails fast, try again later.
        if kinds.CIRCUIT_OPEN in {d.reason for d in ours}:
            return kinds.Unavailable(f"{upstream} is unavailable{said}", reason=kinds.CIRCUIT_OPEN)
        return kinds.Unavailable(f"{upstream} is unavailable{said}")
    if kind is kinds.InvalidArgument:
        violations = [
            kinds.FieldViolation(v.field, v.description)
            for d in found
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        ]
        return kinds.InvalidArgument(violations, message)
    info = next((d for d in found if isinstance(d, error_details_pb2.ErrorInfo)), None)
    if info is None:
        return kind(message)
    return kind(message, reason=info.reason, metadata=dict(info.metadata))


def upstream_detail(error: kinds.DomainError) -> str:
    """For our own logs only: what the upstream or gRPC said, which the caller is not told."""
    cause = error.__cause__
    if isinstance(cause, grpc.aio.AioRpcError):
        return f"{error.message} ({cause.code().name}: {cause.details()})"
    return error.message


async def call(upstream: str, pending: Awaitable[T]) -> T:
    """Await an upstream call, turning its failure into a DomainError."""
    try:
        return await pending
    except grpc.aio.AioRpcError as error:
        raise domain_error_from(error, upstream) from error
