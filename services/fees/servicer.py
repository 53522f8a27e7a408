"""fees' gRPC API: quotes a fee from the schedule."""

from __future__ import annotations

import grpc

from mesh.convert import money
from services.fees import handlers
from services.fees.domain import FeeSchedule
from simplebank.fees.v1 import fees_pb2, fees_pb2_grpc


class FeeServicer(fees_pb2_grpc.FeeServiceServicer):
    def __init__(self, schedule: FeeSchedule) -> None:
        self._schedule = schedule

    async def QuoteFee(
        self,
        request: fees_pb2.QuoteFeeRequest,
        context: grpc.aio.ServicerContext[fees_pb2.QuoteFeeRequest, fees_pb2.QuoteFeeResponse],
    ) -> fees_pb2.QuoteFeeResponse:
        fee = handlers.quote_fee(request.notional.minor_units, self._schedule)
        return fees_pb2.QuoteFeeResponse(fee=money(fee))
