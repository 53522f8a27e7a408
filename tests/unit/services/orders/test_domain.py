"""Unit tests for the orders domain: idempotent ids and a status machine that never goes back."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from services.orders.domain import (
    IdempotencyKeyReused,
    InvalidTransition,
    Order,
    OrderStatus,
    check_same_request,
    order_id_for,
)

START = datetime(2025, 1, 6, 9, 30, tzinfo=UTC)

Event = Callable[[Order], bool]


def at(seconds: int) -> datetime:
    return START + timedelta(seconds=seconds)


def new_order() -> Order:
    return Order.new("order-1", "acc-alice", "AAPL", 10, START)


def placed(order: Order) -> bool:
    return order.mark_placed(at(1))


def filled(order: Order) -> bool:
    return order.mark_filled(price=19_000, proceeds=190_000, at=at(2))


def rejected(order: Order) -> bool:
    return order.mark_rejected("SYMBOL_HALTED", at(2))


def test_the_same_request_always_maps_to_the_same_order_id() -> None:
    assert order_id_for("acc-alice", "req-1") == order_id_for("acc-alice", "req-1")


def test_the_same_request_id_from_two_accounts_maps_to_two_orders() -> None:
    assert order_id_for("acc-alice", "req-1") != order_id_for("acc-bob", "req-1")


def test_a_new_order_is_pending_with_one_history_entry() -> None:
    order = new_order()

    assert order.status is OrderStatus.PENDING
    assert [change.status for change in order.history] == [OrderStatus.PENDING]
    assert order.created_at == order.updated_at == START


def test_an_order_moves_from_pending_through_placed_to_filled() -> None:
    order = new_order()

    assert placed(order)
    assert filled(order)

    assert order.status is OrderStatus.FILLED
    assert (order.price, order.proceeds) == (19_000, 190_000)
    assert [change.status for change in order.history] == [
        OrderStatus.PENDING,
        OrderStatus.PLACED,
        OrderStatus.FILLED,
    ]
    assert order.updated_at == at(2)


def test_a_late_order_placed_does_not_move_a_filled_order_back() -> None:
    order = new_order()
    filled(order)

    assert not placed(order)
    assert order.status is OrderStatus.FILLED
    assert order.updated_at == at(2)


@pytest.mark.parametrize(
    ("events", "final"),
    [([placed, filled], OrderStatus.FILLED), ([placed, rejected], OrderStatus.REJECTED)],
)
def test_any_arrival_order_of_events_ends_in_the_same_status(
    events: list[Event], final: OrderStatus
) -> None:
    for arrival in itertools.permutations(events):
        order = new_order()
        for event in arrival:
            event(order)
        assert order.status is final, [event.__name__ for event in arrival]


@pytest.mark.parametrize("event", [placed, filled, rejected])
def test_a_redelivered_event_changes_nothing(event: Event) -> None:
    order = new_order()
    event(order)
    history = list(order.history)

    assert not event(order)
    assert order.history == history


@pytest.mark.parametrize(("first", "second"), [(filled, rejected), (rejected, filled)])
def test_a_finished_order_cannot_switch_to_the_other_outcome(first: Event, second: Event) -> None:
    order = new_order()
    first(order)

    with pytest.raises(InvalidTransition) as raised:
        second(order)

    assert raised.value.reason == "INVALID_ORDER_TRANSITION"
    assert raised.value.metadata["order_id"] == "order-1"


def test_a_rejected_order_keeps_the_reason_and_no_proceeds() -> None:
    order = new_order()
    rejected(order)

    assert order.reason == "SYMBOL_HALTED"
    assert order.proceeds == 0


def test_a_fee_refund_sets_the_fee_back_to_zero_without_changing_status() -> None:
    order = new_order()
    rejected(order)
    order.record_fee(119, at(3))

    assert order.record_fee_refund(at(4))

    assert order.fee == 0
    assert order.status is OrderStatus.REJECTED
    assert order.history[-1].status is OrderStatus.REJECTED
    assert order.updated_at == at(4)


def test_a_fee_charge_that_arrives_after_its_refund_is_ignored() -> None:
    order = new_order()
    order.record_fee_refund(at(3))

    assert not order.record_fee(119, at(4))
    assert order.fee == 0


def test_a_repeated_fee_charge_or_refund_changes_nothing() -> None:
    order = new_order()

    assert order.record_fee(119, at(3))
    assert not order.record_fee(119, at(4))
    assert order.record_fee_refund(at(5))
    assert not order.record_fee_refund(at(6))
    assert order.updated_at == at(5)


def reuse_error(account_id: str, symbol: str, quantity: int) -> IdempotencyKeyReused | None:
    try:
        check_same_request(new_order(), account_id, symbol, quantity)
    except IdempotencyKeyReused as error:
        return error
    return None


def test_a_retried_request_with_the_same_parameters_is_accepted() -> None:
    assert reuse_error("acc-alice", "AAPL", 10) is None


@pytest.mark.parametrize(
    ("account_id", "symbol", "quantity"),
    [("acc-bob", "AAPL", 10), ("acc-alice", "MSFT", 10), ("acc-alice", "AAPL", 11)],
)
def test_a_request_id_reused_with_different_parameters_is_refused(
    account_id: str, symbol: str, quantity: int
) -> None:
    error = reuse_error(account_id, symbol, quantity)

    assert error is not None
    assert error.reason == "REQUEST_ID_REUSED"
    assert error.metadata == {"order_id": "order-1"}
