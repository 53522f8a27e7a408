"""What a refused gRPC call said: its code and the google.rpc details it carried."""

from __future__ import annotations

from dataclasses import dataclass

import grpc
from google.rpc import error_details_pb2

from mesh.errors.status import details_of


@dataclass(frozen=True)
class Refusal:
    code: grpc.StatusCode
    fields: frozenset[str]  # BadRequest field violations
    reason: str  # ErrorInfo reason
    domain: str
    metadata: dict[str, str]


def refusal(error: grpc.RpcError) -> Refusal:
    details = details_of(error)
    fields = frozenset(
        violation.field
        for detail in details
        if isinstance(detail, error_details_pb2.BadRequest)
        for violation in detail.field_violations
    )
    infos = [d for d in details if isinstance(d, error_details_pb2.ErrorInfo)]
    info = infos[0] if infos else error_details_pb2.ErrorInfo()
    return Refusal(
        code=error.code(),
        fields=fields,
        reason=str(info.reason),
        domain=str(info.domain),
        metadata=dict(info.metadata),
    )
