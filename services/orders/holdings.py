"""The accounts service seen from orders: reservations over gRPC, refusals as domain errors."""

from __future__ import annotations

import grpc

from mesh.errors.upstream import call
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc


class AccountsHoldings:
    """Implements placements.Holdings with the accounts service's generated stub."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = accounts_pb2_grpc.AccountServiceStub(channel)

    async def reserve(
        self, order_id: str, account_id: str, symbol: str, quantity: int, attempt_id: str
    ) -> None:
        request = accounts_pb2.ReserveHoldingsRequest(
            order_id=order_id,
            account_id=account_id,
            symbol=symbol,
            quantity=quantity,
            attempt_id=attempt_id,
        )
        await call("accounts", self._stub.ReserveHoldings(request))

    async def release(self, order_id: str, attempt_id: str) -> None:
        request = accounts_pb2.ReleaseHoldingsRequest(order_id=order_id, attempt_id=attempt_id)
        await call("accounts", self._stub.ReleaseHoldings(request))
