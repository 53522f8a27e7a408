"""Load shedding on a real server: beyond the limit, calls are refused at once with
RESOURCE_EXHAUSTED and a retry delay, and the admitted ones finish."""

from __future__ import annotations

import asyncio
import dataclasses

import grpc
import pytest
from google.rpc import error_details_pb2

from mesh.errors.status import details_of
from services.gateway.admission import AdmissionInterceptor
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc
from tests.support.servers.grpc_servers import (
    Context,
    FakeFeeServicer,
    fee_service,
    local,
    quote_100,
    quote_request,
    serving,
)

pytestmark = pytest.mark.integration

LIMIT = 2


async def test_calls_beyond_the_limit_are_refused_with_a_retry_delay_and_the_rest_finish() -> None:
    release = asyncio.Event()
    all_in = asyncio.Event()

    async def held(
        request: fees_pb2.QuoteFeeRequest, context: Context
    ) -> fees_pb2.QuoteFeeResponse:
        if servicer.attempts == LIMIT:
            all_in.set()
        await release.wait()
        return await quote_100(request, context)

    servicer = FakeFeeServicer(held)
    service = dataclasses.replace(
        fee_service(servicer), interceptors=[AdmissionInterceptor(LIMIT, retry_after_seconds=0.25)]
    )
    async with serving(service) as host, grpc.aio.insecure_channel(local(host)) as channel:
        stub = fees_pb2_grpc.FeeServiceStub(channel)
        admitted = [asyncio.ensure_future(stub.QuoteFee(quote_request())) for _ in range(LIMIT)]
        await all_in.wait()
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.QuoteFee(quote_request())
        release.set()
        answers = await asyncio.gather(*admitted)

    assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    found = details_of(refused.value)
    info = next(d for d in found if isinstance(d, error_details_pb2.ErrorInfo))
    retry = next(d for d in found if isinstance(d, error_details_pb2.RetryInfo))
    assert info.reason == "OVERLOADED"
    assert retry.retry_delay.ToMilliseconds() == 250
    assert [a.fee.minor_units for a in answers] == [100] * LIMIT
    assert servicer.attempts == LIMIT  # the refused call never reached the handler
