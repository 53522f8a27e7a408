"""Orders domain: a sell order and its monotonic status machine, safe under out-of-order events."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from mesh.errors.kinds import Aborted, AlreadyExists, FailedPrecondition, NotFound

# Fixed forever: changing it would give every retried request a new order id.
ORDER_ID_NAMESPACE = uuid.UUID("6f1c1d2e-53a1-4f0e-9a57-3d2b8c1e7a40")

FEE_REFUNDED_NOTE = "fee refunded"


class OrderStatus(enum.Enum):
    PENDING = "PENDING"
    PLACED = "PLACED"
    FILLED = "FILLED"
    REJECTED = "REJECTED"


# Events travel on separate consumers, so a status only ever moves up this ranking.
_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.PLACED: 1,
    OrderStatus.FILLED: 2,
    OrderStatus.REJECTED: 2,
}


class OrderNotFound(NotFound):
    reason = "ORDER_NOT_FOUND"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}", metadata={"order_id": order_id})


class InvalidTransition(FailedPrecondition):
    """An order that was filled cannot be rejected, nor the other way round."""

    reason = "INVALID_ORDER_TRANSITION"


class IdempotencyKeyReused(AlreadyExists):
    """A request_id came back with different parameters than the order it created."""

    reason = "REQUEST_ID_REUSED"


class PlacementAbandoned(Aborted):
    """Placing took so long that the attempt was given up and its shares given back."""

    reason = "PLACEMENT_ABANDONED"

    def __init__(self, order_id: str) -> None:
        super().__init__(
            f"placing order {order_id} took too long and was given up; send the request again",
            metadata={"order_id": order_id},
        )


@dataclass(frozen=True)
class Placement:
    """One attempt at placing an order, from before its shares are reserved until the order is
    stored: the shares it may hold are accounts', named by `attempt_id`, for an order orders
    does not have yet. Abandoned (or overdue: its process died) means they go back."""

    order_id: str
    attempt_id: str
    give_back_after: float  # time.time() past which nobody is still placing it
    abandoned: bool = False

    def due(self, now: float) -> bool:
        return self.abandoned or now > self.give_back_after


@dataclass
class StatusChange:
    status: OrderStatus
    at: datetime
    note: str = ""


def order_id_for(account_id: str, request_id: str) -> str:
    """The same client request always names the same order, which makes PlaceOrder idempotent."""
    return str(uuid.uuid5(ORDER_ID_NAMESPACE, f"{account_id}/{request_id}"))


# kw_only: a dozen fields are clearer by name, and the defaults can stay next to their kin.
@dataclass(kw_only=True)
class Order:
    order_id: str
    account_id: str
    symbol: str
    quantity: int
    status: OrderStatus
    fee: int = 0
    proceeds: int = 0
    price: int = 0
    reason: str = ""
    created_at: datetime
    updated_at: datetime
    history: list[StatusChange] = field(default_factory=list)

    @classmethod
    def new(cls, order_id: str, account_id: str, symbol: str, quantity: int, at: datetime) -> Order:
        return cls(
            order_id=order_id,
            account_id=account_id,
            symbol=symbol,
            quantity=quantity,
            status=OrderStatus.PENDING,
            created_at=at,
            updated_at=at,
            history=[StatusChange(OrderStatus.PENDING, at, "order created")],
        )

    @property
    def fee_refunded(self) -> bool:
        """Read from the history, so storage needs no extra column to remember it."""
        return any(change.note == FEE_REFUNDED_NOTE for change in self.history)

    def mark_placed(self, at: datetime) -> bool:
        return self._advance(OrderStatus.PLACED, at, "placed on the exchange")

    def mark_filled(self, price: int, proceeds: int, at: datetime) -> bool:
        if not self._advance(OrderStatus.FILLED, at, f"filled at {price}"):
            return False
        self.price, self.proceeds = price, proceeds
        return True

    def mark_rejected(self, reason: str, at: datetime) -> bool:
        if not self._advance(OrderStatus.REJECTED, at, f"rejected: {reason}"):
            return False
        self.reason = reason
        return True

    def record_fee(self, amount: int, at: datetime) -> bool:
        # A refund that overtook its charge wins: the net fee of this order is already settled.
        if self.fee_refunded or self.fee == amount:
            return False
        self.fee = amount
        self._note(f"fee charged: {amount}", at)
        return True

    def record_fee_refund(self, at: datetime) -> bool:
        if self.fee_refunded:
            return False
        self.fee = 0
        self._note(FEE_REFUNDED_NOTE, at)
        return True

    def _advance(self, to: OrderStatus, at: datetime, note: str) -> bool:
        if _RANK[to] <= _RANK[self.status]:
            # Equal rank, different status: both outcomes for one order, a bug upstream.
            if _RANK[to] == _RANK[self.status] and to is not self.status:
                raise InvalidTransition(
                    f"order {self.order_id} is {self.status.value} and cannot become {to.value}",
                    metadata={"order_id": self.order_id, "from": self.status.value, "to": to.value},
                )
            return False  # a late or repeated event: what it says has already happened
        self.status = to
        self._note(note, at)
        return True

    def _note(self, note: str, at: datetime) -> None:
        self.history.append(StatusChange(self.status, at, note))
        self.updated_at = at


def check_same_request(existing: Order, account_id: str, symbol: str, quantity: int) -> None:
    """A retried PlaceOrder must repeat its parameters; anything else is a client bug."""
    if (existing.account_id, existing.symbol, existing.quantity) != (account_id, symbol, quantity):
        raise IdempotencyKeyReused(
            f"request_id of order {existing.order_id} was already used for "
            f"{existing.quantity} {existing.symbol} from {existing.account_id}",
            metadata={"order_id": existing.order_id},
        )
