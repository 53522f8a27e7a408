"""Fees domain: the fee schedule and each order's fee, charged at most once net."""

from __future__ import annotations

import enum
from dataclasses import dataclass

BASIS_POINTS_PER_UNIT = 10_000


@dataclass(frozen=True)
class FeeSchedule:
    flat: int = 100
    basis_points: int = 10

    def __post_init__(self) -> None:
        if self.flat < 0 or self.basis_points < 0:
            raise ValueError(f"fee schedule must not be negative: {self}")

    def fee_for(self, notional: int) -> int:
        """Flat fee plus a share of the notional, rounded half up to a whole cent."""
        if notional < 0:
            raise ValueError(f"notional must not be negative, got {notional}")
        # Integer arithmetic only: floats would round some cents the wrong way.
        half = BASIS_POINTS_PER_UNIT // 2
        return self.flat + (notional * self.basis_points + half) // BASIS_POINTS_PER_UNIT


class FeeState(enum.Enum):
    NONE = "NONE"
    CHARGED = "CHARGED"
    REFUNDED = "REFUNDED"
    WAIVED = "WAIVED"


@dataclass
class OrderFee:
    order_id: str
    account_id: str
    amount: int = 0
    state: FeeState = FeeState.NONE

    @property
    def net(self) -> int:
        """What the customer owes for this order right now: never more than one fee."""
        return self.amount if self.state is FeeState.CHARGED else 0


def charge(fee: OrderFee, amount: int) -> bool:
    """Charge the fee if nothing happened to it yet; otherwise change nothing.

    A WAIVED fee stays waived: OrderRejected overtook OrderPlaced, and a rejected order is never
    charged.
    """
    if amount < 0:
        raise ValueError(f"a fee must not be negative, got {amount}")
    if fee.state is not FeeState.NONE:
        return False
    fee.amount, fee.state = amount, FeeState.CHARGED
    return True


def refund(fee: OrderFee) -> int:
    """Undo the fee of a rejected order and return how much to give back.

    A fee not charged yet is waived instead (returning 0), so a late OrderPlaced cannot charge it.
    """
    if fee.state is FeeState.CHARGED:
        fee.state = FeeState.REFUNDED
        return fee.amount
    if fee.state is FeeState.NONE:
        fee.state = FeeState.WAIVED
    return 0
