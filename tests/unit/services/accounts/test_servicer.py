"""Unit tests for the accounts gRPC API: requests become commands, positions become protobuf."""

from __future__ import annotations

from mesh.convert import money
from mesh.storage.database import Database
from services.accounts.servicer import AccountServicer
from simplebank.accounts.v1 import accounts_pb2
from tests.unit.services.context import UNREAD_CONTEXT


async def test_a_reservation_answers_with_the_position_it_holds(database: Database) -> None:
    request = accounts_pb2.ReserveHoldingsRequest(
        order_id="o-1", account_id="acc-alice", symbol="MSFT", quantity=5, attempt_id="a-1"
    )

    response = await AccountServicer(database).ReserveHoldings(request, UNREAD_CONTEXT)

    assert response.position == accounts_pb2.Position(symbol="MSFT", quantity=50, reserved=5)


async def test_a_release_says_whether_it_gave_anything_back(database: Database) -> None:
    servicer = AccountServicer(database)
    await servicer.ReserveHoldings(
        accounts_pb2.ReserveHoldingsRequest(
            order_id="o-1", account_id="acc-alice", symbol="AAPL", quantity=1, attempt_id="a-1"
        ),
        UNREAD_CONTEXT,
    )
    release = accounts_pb2.ReleaseHoldingsRequest(order_id="o-1", attempt_id="a-1")

    assert (await servicer.ReleaseHoldings(release, UNREAD_CONTEXT)).released
    assert not (await servicer.ReleaseHoldings(release, UNREAD_CONTEXT)).released


async def test_a_portfolio_carries_cash_as_money_and_every_position(database: Database) -> None:
    request = accounts_pb2.GetPortfolioRequest(account_id="acc-alice")

    response = await AccountServicer(database).GetPortfolio(request, UNREAD_CONTEXT)

    assert response == accounts_pb2.GetPortfolioResponse(
        account_id="acc-alice",
        customer_id="alice",
        cash=money(1_000_000),
        positions=[
            accounts_pb2.Position(symbol="AAPL", quantity=100, reserved=0),
            accounts_pb2.Position(symbol="MSFT", quantity=50, reserved=0),
        ],
    )
