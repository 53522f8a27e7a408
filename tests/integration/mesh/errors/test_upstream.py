"""Domain errors cross the wire as status codes with google.rpc details, and back again."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from mesh.calls.channels import make_channel
from mesh.errors import kinds, upstream
from mesh.errors.status import DOMAIN, details_of, reason_of
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.servers.grpc_servers import Context, fake_fee_host, quote_request

pytestmark = pytest.mark.integration

VIOLATIONS = [
    kinds.FieldViolation("quantity", "must be between 1 and 1000000"),
    kinds.FieldViolation("symbol", "must be a listed symbol, e.g. AAPL"),
]
HOLDINGS = kinds.FailedPrecondition(
    "acc-alice holds 5 AAPL, 10 asked",
    reason="INSUFFICIENT_HOLDINGS",
    metadata={"available": "5", "requested": "10"},
)


async def refusal(error: Exception) -> grpc.aio.AioRpcError:
    """Call a server whose handler raises `error`; return what the client caught."""

    async def handle(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        raise error

    async with fake_fee_host(handle) as (_, target), grpc.aio.insecure_channel(target) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await fees_pb2_grpc.FeeServiceStub(channel).QuoteFee(quote_request(), timeout=5)
    return caught.value


def violations_of(bad_request: error_details_pb2.BadRequest) -> list[tuple[str, str]]:
    return [(v.field, v.description) for v in bad_request.field_violations]


async def test_invalid_argument_carries_bad_request_field_violations() -> None:
    caught = await refusal(kinds.InvalidArgument(VIOLATIONS))

    assert caught.code() is grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details_of(caught)
    assert isinstance(bad_request, error_details_pb2.BadRequest)
    assert violations_of(bad_request) == [(v.field, v.description) for v in VIOLATIONS]


async def test_a_plain_grpc_status_client_reads_the_same_violations() -> None:
    caught = await refusal(kinds.InvalidArgument(VIOLATIONS))

    status = rpc_status.from_call(caught)  # type: ignore[arg-type]  # an aio error is a Call
    assert status is not None
    assert status.code == code_pb2.INVALID_ARGUMENT
    assert status.message == caught.details()
    [detail] = status.details
    bad_request = error_details_pb2.BadRequest()
    assert detail.Unpack(bad_request)
    assert violations_of(bad_request) == [(v.field, v.description) for v in VIOLATIONS]


async def test_failed_precondition_carries_error_info_with_reason_and_metadata() -> None:
    caught = await refusal(HOLDINGS)

    assert caught.code() is grpc.StatusCode.FAILED_PRECONDITION
    assert caught.details() == HOLDINGS.message
    [info] = details_of(caught)
    assert isinstance(info, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("INSUFFICIENT_HOLDINGS", DOMAIN)
    assert dict(info.metadata) == {"available": "5", "requested": "10"}
    assert reason_of(caught) == "INSUFFICIENT_HOLDINGS"


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (kinds.NotFound("no order o-1", metadata={"order_id": "o-1"}), grpc.StatusCode.NOT_FOUND),
        (kinds.PermissionDenied("not yours"), grpc.StatusCode.PERMISSION_DENIED),
        (kinds.Unauthenticated("no token"), grpc.StatusCode.UNAUTHENTICATED),
        (kinds.AlreadyExists("taken", reason="ORDER_EXISTS"), grpc.StatusCode.ALREADY_EXISTS),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else value.name,
)
async def test_each_domain_error_kind_has_its_status_code_and_reason(
    error: kinds.DomainError, code: grpc.StatusCode
) -> None:
    caught = await refusal(error)

    assert caught.code() is code
    assert reason_of(caught) == error.reason


async def test_an_unexpected_exception_is_not_dressed_up_as_a_domain_error() -> None:
    caught = await refusal(ZeroDivisionError("bug"))

    assert caught.code() is grpc.StatusCode.UNKNOWN
    assert details_of(caught) == []


class Relay:
    """client -> A -> B: A calls B through mesh.errors.upstream.call and passes B's refusal on."""

    def __init__(self, b_raises: Exception) -> None:
        self.b_raises = b_raises
        self.a_rebuilt: list[kinds.DomainError] = []

    async def caught_by_client(self) -> grpc.aio.AioRpcError:
        async def hop_b(
            request: fees_pb2.QuoteFeeRequest, context: Context
        ) -> fees_pb2.QuoteFeeResponse:
            raise self.b_raises

        async with fake_fee_host(hop_b) as (_, b_target):
            b = make_channel(b_target)

            async def hop_a(
                request: fees_pb2.QuoteFeeRequest, context: Context
            ) -> fees_pb2.QuoteFeeResponse:
                try:
                    return await upstream.call(
                        "fees-b", fees_pb2_grpc.FeeServiceStub(b).QuoteFee(request)
                    )
                except kinds.DomainError as error:
                    self.a_rebuilt.append(error)
                    raise

            try:
                async with (
                    fake_fee_host(hop_a) as (_, a_target),
                    grpc.aio.insecure_channel(a_target) as client,
                ):
                    with pytest.raises(grpc.aio.AioRpcError) as caught:
                        await fees_pb2_grpc.FeeServiceStub(client).QuoteFee(quote_request())
            finally:
                await b.close(grace=None)
        return caught.value


async def test_upstream_rebuilds_the_same_failed_precondition_across_a_hop() -> None:
    relay = Relay(HOLDINGS)

    caught = await relay.caught_by_client()

    [rebuilt] = relay.a_rebuilt
    assert type(rebuilt) is kinds.FailedPrecondition
    assert (rebuilt.message, rebuilt.reason, rebuilt.metadata) == (
        HOLDINGS.message,
        HOLDINGS.reason,
        HOLDINGS.metadata,
    )
    assert caught.code() is grpc.StatusCode.FAILED_PRECONDITION
    [info] = details_of(caught)
    assert (info.reason, dict(info.metadata)) == (HOLDINGS.reason, HOLDINGS.metadata)


async def test_upstream_rebuilds_the_same_field_violations_across_a_hop() -> None:
    relay = Relay(kinds.InvalidArgument(VIOLATIONS))

    caught = await relay.caught_by_client()

    [rebuilt] = relay.a_rebuilt
    assert isinstance(rebuilt, kinds.InvalidArgument)
    assert list(rebuilt.violations) == VIOLATIONS
    assert caught.code() is grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = details_of(caught)
    assert violations_of(bad_request) == [(v.field, v.description) for v in VIOLATIONS]


async def test_an_upstream_bug_reaches_the_caller_as_unavailable_not_as_its_internals() -> None:
    relay = Relay(ZeroDivisionError("secret internals"))

    caught = await relay.caught_by_client()

    [rebuilt] = relay.a_rebuilt
    assert type(rebuilt) is kinds.Unavailable
    assert caught.code() is grpc.StatusCode.UNAVAILABLE
    assert reason_of(caught) == "UPSTREAM_UNAVAILABLE"
