"""Unit tests for the one table from domain errors to gRPC status codes, and the google.rpc
details each status carries."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2, status_pb2

from mesh.errors import kinds
from mesh.errors.kinds import DomainError, FieldViolation
from mesh.errors.refusals import DomainErrorInterceptor
from mesh.errors.status import code_for, to_status
from services.accounts.domain import AccountNotFound, InsufficientHoldings
from services.market.domain import UnknownSymbol
from services.orders.domain import IdempotencyKeyReused, InvalidTransition, OrderNotFound

CODES: dict[type[DomainError], grpc.StatusCode] = {
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
VIOLATIONS = [
    FieldViolation("symbol", "unknown symbol TSLA"),
    FieldViolation("quantity", "must be positive"),
]
HOLDINGS = InsufficientHoldings("AAPL", requested=10, available=5)


def an_error_of(kind: type[DomainError]) -> DomainError:
    if issubclass(kind, kinds.InvalidArgument):
        return kind(VIOLATIONS)
    return kind("refused")


def details_of(error: DomainError) -> tuple[status_pb2.Status, Any]:
    """The google.rpc.Status a client decodes from the trailers, and its one detail, unpacked."""
    trailers = dict(to_status(error).trailing_metadata)
    status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
    [packed] = status.details
    for kind in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo):
        if packed.Is(kind.DESCRIPTOR):
            detail = kind()
            packed.Unpack(detail)
            return status, detail
    raise AssertionError(f"unexpected detail {packed.type_url}")


def test_every_kind_of_domain_error_has_a_code() -> None:
    every_kind = {
        kind
        for kind in vars(kinds).values()
        if isinstance(kind, type) and issubclass(kind, DomainError) and kind is not DomainError
    }

    assert every_kind == set(CODES)


@pytest.mark.parametrize(("kind", "code"), CODES.items(), ids=lambda v: getattr(v, "__name__", ""))
def test_each_kind_of_domain_error_becomes_its_status_code(
    kind: type[DomainError], code: grpc.StatusCode
) -> None:
    assert code_for(an_error_of(kind)) is code


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (AccountNotFound("acc-nobody"), grpc.StatusCode.NOT_FOUND),
        (OrderNotFound("o-1"), grpc.StatusCode.NOT_FOUND),
        (UnknownSymbol("TSLA"), grpc.StatusCode.NOT_FOUND),
        (HOLDINGS, grpc.StatusCode.FAILED_PRECONDITION),
        (InvalidTransition("filled, cannot be rejected"), grpc.StatusCode.FAILED_PRECONDITION),
        (IdempotencyKeyReused("request_id reused"), grpc.StatusCode.ALREADY_EXISTS),
    ],
    ids=lambda v: type(v).__name__,
)
def test_a_services_own_error_takes_the_code_of_its_nearest_kind(
    error: DomainError, code: grpc.StatusCode
) -> None:
    assert code_for(error) is code


def test_a_domain_error_of_no_known_kind_is_internal() -> None:
    assert code_for(DomainError("what is this")) is grpc.StatusCode.INTERNAL


def test_an_invalid_argument_carries_every_field_violation_as_bad_request() -> None:
    error = kinds.InvalidArgument(VIOLATIONS)

    status, detail = details_of(error)

    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message == error.message
    assert detail == error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in VIOLATIONS
        ]
    )


def test_any_other_refusal_carries_its_reason_and_facts_as_error_info() -> None:
    status, detail = details_of(HOLDINGS)

    assert status.code == code_pb2.FAILED_PRECONDITION
    assert detail == error_details_pb2.ErrorInfo(
        reason="INSUFFICIENT_HOLDINGS",
        domain="simplebank",
        metadata={"symbol": "AAPL", "requested": "10", "available": "5"},
    )


def test_the_grpc_status_has_the_errors_code_and_message() -> None:
    status = to_status(HOLDINGS)

    assert (status.code, status.details) == (grpc.StatusCode.FAILED_PRECONDITION, HOLDINGS.message)


class AbortingContext:
    """The part of a servicer context the interceptor uses: abort ends the call by raising."""

    def __init__(self) -> None:
        self.aborted_with: tuple[Any, ...] = ()

    async def abort(self, code: grpc.StatusCode, details: str, trailers: Any) -> None:
        self.aborted_with = (code, details, trailers)
        raise grpc.RpcError(details)


async def test_a_domain_error_raised_by_a_handler_aborts_the_call_with_its_status() -> None:
    async def refusing_handler(request: Any, context: Any) -> Any:
        raise HOLDINGS

    context = AbortingContext()

    with pytest.raises(grpc.RpcError):
        await DomainErrorInterceptor().around(refusing_handler, None, context, "/svc/Method")

    expected = to_status(HOLDINGS)
    assert context.aborted_with == (expected.code, expected.details, expected.trailing_metadata)
