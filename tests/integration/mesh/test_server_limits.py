"""Costs before authentication on a real ServiceHost: a message over the size limit is refused
before its handler runs, and so is a request with a control character in any string field."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from mesh.errors.status import details_of
from mesh.limits import MAX_RECEIVE_MESSAGE_BYTES
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.servers.grpc_servers import FakeFeeServicer, fee_service, local, serving

pytestmark = pytest.mark.integration


async def test_a_message_over_the_size_limit_is_refused_before_the_handler_runs() -> None:
    servicer = FakeFeeServicer()
    oversize = fees_pb2.QuoteFeeRequest(symbol="A" * (MAX_RECEIVE_MESSAGE_BYTES + 1), quantity=1)
    async with serving(fee_service(servicer)) as host, grpc.aio.insecure_channel(local(host)) as ch:
        stub = fees_pb2_grpc.FeeServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.QuoteFee(oversize, timeout=5)
        fine = await stub.QuoteFee(fees_pb2.QuoteFeeRequest(symbol="AAPL", quantity=1))

    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert servicer.attempts == 1  # only the call within the limit reached the handler
    assert fine.fee.minor_units == 100


@pytest.mark.parametrize("char", ["\x00", "\n", "\x1b", "\x7f"], ids=repr)
async def test_a_control_character_in_a_string_field_is_invalid_argument_naming_it(
    char: str,
) -> None:
    servicer = FakeFeeServicer()
    async with serving(fee_service(servicer)) as host, grpc.aio.insecure_channel(local(host)) as ch:
        stub = fees_pb2_grpc.FeeServiceStub(ch)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.QuoteFee(fees_pb2.QuoteFeeRequest(symbol=f"AA{char}PL", quantity=1))

    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    bad = [d for d in details_of(refused.value) if isinstance(d, error_details_pb2.BadRequest)]
    assert [v.field for d in bad for v in d.field_violations] == ["symbol"]
    assert servicer.attempts == 0
