"""An upstream's failure passed on: the mesh's own refusals in words and with their reasons,
gRPC's and the application's raw text (class names, addresses) never."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from mesh.errors import kinds
from mesh.errors.status import DOMAIN
from mesh.errors.upstream import domain_error_from


def rpc_error(code: grpc.StatusCode, details: str, reason: str = "") -> grpc.aio.AioRpcError:
    trailing = grpc.aio.Metadata()
    if reason:
        info = any_pb2.Any()
        info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain=DOMAIN))
        status = status_pb2.Status(
            code=getattr(code_pb2, code.name), message=details, details=[info]
        )
        trailing.add("grpc-status-details-bin", status.SerializeToString())
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), trailing, details, None)


@pytest.mark.parametrize(
    ("code", "details"),
    [
        (
            grpc.StatusCode.INTERNAL,
            "Exception calling application: OperationalError: connection to 10.0.4.7:5432 failed",
        ),
        (grpc.StatusCode.UNKNOWN, "Unexpected <class 'psycopg.errors.DataError'>: NUL"),
        (
            grpc.StatusCode.UNAVAILABLE,
            "failed to connect to all addresses; last error: ipv4:10.0.4.8:50053: refused",
        ),
    ],
)
def test_raw_upstream_text_is_not_passed_on(code: grpc.StatusCode, details: str) -> None:
    passed_on = domain_error_from(rpc_error(code, details), "accounts")

    assert isinstance(passed_on, kinds.Unavailable)
    assert passed_on.message == "accounts is unavailable"
    assert passed_on.reason == "UPSTREAM_UNAVAILABLE"


def test_an_internal_error_that_claims_our_domain_is_still_not_passed_on_in_words() -> None:
    error = rpc_error(grpc.StatusCode.INTERNAL, "KeyError at db.example:5432", reason="X")

    assert domain_error_from(error, "orders").message == "orders is unavailable"


def test_the_mesh_s_own_unavailable_keeps_its_words_and_an_open_circuit_its_reason() -> None:
    error = rpc_error(
        grpc.StatusCode.UNAVAILABLE,
        "accounts is unavailable: circuit open after repeated failures",
        reason=kinds.CIRCUIT_OPEN,
    )

    passed_on = domain_error_from(error, "orders")

    assert passed_on.message == (
        "orders is unavailable: accounts is unavailable: circuit open after repeated failures"
    )
    assert passed_on.reason == kinds.CIRCUIT_OPEN
