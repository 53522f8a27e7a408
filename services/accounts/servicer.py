"""accounts' gRPC API: translates protobuf to commands and accounts back to protobuf."""

from __future__ import annotations

import grpc

from mesh.convert import money
from mesh.storage.database import Database
from services.accounts import handlers
from services.accounts.domain import Position
from simplebank.accounts.v1 import accounts_pb2, accounts_pb2_grpc


def _position(position: Position) -> accounts_pb2.Position:
    return accounts_pb2.Position(
        symbol=position.symbol, quantity=position.quantity, reserved=position.reserved
    )


class AccountServicer(accounts_pb2_grpc.AccountServiceServicer):
    def __init__(self, database: Database) -> None:
        self._database = database

    async def ReserveHoldings(
        self,
        request: accounts_pb2.ReserveHoldingsRequest,
        context: grpc.aio.ServicerContext[
            accounts_pb2.ReserveHoldingsRequest, accounts_pb2.ReserveHoldingsResponse
        ],
    ) -> accounts_pb2.ReserveHoldingsResponse:
        command = handlers.ReserveHoldings(
            order_id=request.order_id,
            account_id=request.account_id,
            symbol=request.symbol,
            quantity=request.quantity,
            attempt_id=request.attempt_id,
        )
        position = await handlers.reserve_holdings(command, self._database)
        return accounts_pb2.ReserveHoldingsResponse(position=_position(position))

    async def ReleaseHoldings(
        self,
        request: accounts_pb2.ReleaseHoldingsRequest,
        context: grpc.aio.ServicerContext[
            accounts_pb2.ReleaseHoldingsRequest, accounts_pb2.ReleaseHoldingsResponse
        ],
    ) -> accounts_pb2.ReleaseHoldingsResponse:
        released = await handlers.release_holdings(
            request.order_id, request.attempt_id, self._database
        )
        return accounts_pb2.ReleaseHoldingsResponse(released=released)

    async def GetPortfolio(
        self,
        request: accounts_pb2.GetPortfolioRequest,
        context: grpc.aio.ServicerContext[
            accounts_pb2.GetPortfolioRequest, accounts_pb2.GetPortfolioResponse
        ],
    ) -> accounts_pb2.GetPortfolioResponse:
        account = await handlers.get_portfolio(request.account_id, self._database)
        return accounts_pb2.GetPortfolioResponse(
            account_id=account.account_id,
            customer_id=account.customer_id,
            cash=money(account.cash),
            positions=[_position(p) for p in account.positions.values()],
        )
