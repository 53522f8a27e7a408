"""Unit tests for the fees domain: the schedule's arithmetic and at most one net fee per order."""

from __future__ import annotations

import pytest

from services.fees.domain import FeeSchedule, FeeState, OrderFee, charge, refund


def new_fee() -> OrderFee:
    return OrderFee("order-1", "acc-alice")


@pytest.mark.parametrize(
    ("notional", "fee"),
    [
        (0, 100),  # the flat part alone
        (190_000, 290),  # 10 bps of 1,900.00 USD is exactly 1.90 USD
        (1_450, 101),  # 1.45 cents rounds down
        (1_500, 102),  # 1.5 cents rounds up
        (2_500, 103),  # 2.5 cents rounds up too, where round() would give 2
    ],
)
def test_the_default_fee_is_one_dollar_plus_ten_basis_points_rounded_half_up(
    notional: int, fee: int
) -> None:
    assert FeeSchedule().fee_for(notional) == fee


def test_half_a_cent_rounds_up_and_less_rounds_down() -> None:
    schedule = FeeSchedule(flat=0, basis_points=1)

    assert [schedule.fee_for(n) for n in (4_999, 5_000, 14_999, 15_000)] == [0, 1, 1, 2]


def test_a_schedule_with_a_negative_part_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        FeeSchedule(flat=-1)


def test_a_negative_notional_is_a_bug() -> None:
    with pytest.raises(ValueError, match="notional"):
        FeeSchedule().fee_for(-1)


def test_a_placed_order_is_charged_once() -> None:
    fee = new_fee()

    assert charge(fee, 290)
    assert not charge(fee, 290)

    assert (fee.state, fee.net) == (FeeState.CHARGED, 290)


def test_rejecting_a_charged_order_refunds_the_whole_fee_once() -> None:
    fee = new_fee()
    charge(fee, 290)

    assert refund(fee) == 290
    assert refund(fee) == 0

    assert (fee.state, fee.net) == (FeeState.REFUNDED, 0)


def test_an_order_rejected_before_it_was_placed_is_never_charged() -> None:
    fee = new_fee()

    assert refund(fee) == 0
    assert not charge(fee, 290)

    assert (fee.state, fee.net) == (FeeState.WAIVED, 0)


def test_a_refunded_fee_is_not_charged_again_by_a_redelivered_order_placed() -> None:
    fee = new_fee()
    charge(fee, 290)
    refund(fee)

    assert not charge(fee, 290)
    assert fee.net == 0


def test_a_negative_fee_is_a_bug() -> None:
    with pytest.raises(ValueError, match="negative"):
        charge(new_fee(), -1)
