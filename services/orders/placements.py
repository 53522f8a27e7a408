"""The placement protocol: how an order is placed so that no shares are ever held for nothing.

Placing an order takes two services: accounts holds the shares, then orders stores the order. So
each attempt is first recorded (`begin`, a Placement), then reserves (`reserve`), then stores the
order and forgets the attempt in one transaction (`save`). An attempt is given up when the answer
of its reserve call was lost, its save failed, or its process died between reserve and save.
Which of those happened does not matter, nor whether accounts ran the reserve yet: `give_back`
claims the attempt in orders' database (so its save can no longer store the order), then asks
accounts to release it by its attempt id (accounts refuses that attempt from then on, so a
reserve still on its way holds nothing), then forgets it. Any replica may do it, twice even; the
sweeper does it for attempts nobody is left to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import time
import uuid
import weakref
from typing import Protocol

from mesh.background import BackgroundLoop
from mesh.calls.deadline import detached, remaining
from mesh.convert import utc_now
from mesh.errors.kinds import CIRCUIT_OPEN, DeadlineExceeded, DomainError, Unavailable
from mesh.storage.database import Database
from mesh.storage.unit_of_work import UnitOfWork
from services.events import OrderCreated
from services.orders import store
from services.orders.domain import Order, Placement, PlacementAbandoned

log = logging.getLogger(__name__)

# How long an attempt with no deadline may take before the sweeper gives it back; one with a
# deadline gets what is left of it. The grace covers the save's commit after the deadline.
UNBOUNDED_SECONDS = 30.0
GRACE_SECONDS = 2.0
# The sweeper looks when the earliest placement it knows of falls due, and at least this often:
# a placement begun by another replica that then died is given back at most this late.
LONGEST_SWEEP_SECONDS = 5.0
# While a due placement cannot be given back yet (accounts or the database away), it tries again
# this often.
RETRY_SWEEP_SECONDS = 1.0

# Pauses while another attempt at the same request (a client retrying at once) is under way.
FIRST_WAIT_SECONDS, LONGEST_WAIT_SECONDS = 0.02, 0.2


class Releaser(Protocol):
    async def release(self, order_id: str, attempt_id: str) -> None: ...


class Holdings(Releaser, Protocol):
    """The accounts service, as orders needs it."""

    async def reserve(
        self, order_id: str, account_id: str, symbol: str, quantity: int, attempt_id: str
    ) -> None: ...


class Sale(Protocol):
    """What is being placed, as the protocol reads it (the PlaceOrder command)."""

    @property
    def account_id(self) -> str: ...

    @property
    def symbol(self) -> str: ...

    @property
    def quantity(self) -> int: ...


async def begin(order_id: str, database: Database, holdings: Releaser) -> Order | Placement:
    """The stored order, or a new placement of ours once no other attempt is under way."""
    wait = FIRST_WAIT_SECONDS
    while True:
        placement = new_placement(order_id)
        found = await database.transact(functools.partial(_record, placement))
        if found is placement:
            deadlines_of(database).announce(placement.give_back_after)
            return found
        if isinstance(found, Order):
            return found
        if found is None:
            continue  # the other attempt ended just now: look again
        if found.due(time.time()):
            with detached():
                await give_back(found, database, holdings)  # its caller and process are gone
            continue
        await asyncio.sleep(wait)
        wait = min(wait * 2, LONGEST_WAIT_SECONDS)


def _record(placement: Placement, uow: UnitOfWork) -> Order | Placement | None:
    """The stored order; or `placement`, now recorded; or the other attempt in its way (None
    if that one has just ended).

    The placement is recorded before the order is looked for: an attempt storing the order
    deletes its placement in the same commit, so an insert that got past it sees that order in
    the next statement, and the placement just recorded goes again (nothing to place).
    """
    began = store.begin_placement(uow, placement)
    stored = store.get(uow, placement.order_id)
    if stored is not None:
        if began:
            store.drop_placement(uow, placement)
        return stored
    if began:
        return placement
    return store.get_placement(uow, placement.order_id)


async def reserve(placement: Placement, sale: Sale, database: Database, holdings: Holdings) -> None:
    """Have accounts hold the shares for this attempt; if the call fails, the placement ends
    (giving back what accounts may have held) before the failure goes on to the caller."""
    try:
        await holdings.reserve(
            placement.order_id, sale.account_id, sale.symbol, sale.quantity, placement.attempt_id
        )
    except BaseException as error:
        # accounts may have held the shares before the answer was lost: it went away or ran
        # out of time, or this call was cancelled (the caller went away, a gateway killed
        # mid-call). A refusal held nothing.
        with detached():
            await _end_quietly(placement, database, holdings, _may_have_reserved(error))
        raise


async def save(placement: Placement, sale: Sale, database: Database, holdings: Releaser) -> Order:
    """Store the order and its OrderCreated event, ending the placement, in one transaction; if
    that fails, the shares go back. PlacementAbandoned if the sweeper took the attempt first."""
    try:
        order = await database.transact(functools.partial(_store, placement, sale))
    except PlacementAbandoned:
        raise
    except BaseException:
        # Also reached when the caller gives up (cancellation) while the save is running on
        # a database thread: it may still have committed. transact waits for the work to
        # finish even then, and give_back finds the placement gone if the order was stored.
        with detached():
            await _end_quietly(placement, database, holdings, may_hold=True)
        raise
    log.info(
        "order stored, shares reserved",
        extra={"order_id": order.order_id, "symbol": order.symbol, "quantity": order.quantity},
    )
    return order


def _store(placement: Placement, sale: Sale, uow: UnitOfWork) -> Order:
    if not store.finish_placement(uow, placement):
        raise PlacementAbandoned(placement.order_id)  # overdue: the sweeper gives its shares back
    order = Order.new(placement.order_id, sale.account_id, sale.symbol, sale.quantity, utc_now())
    store.save(uow, order)
    uow.add_event(f"{order.order_id}/OrderCreated", _order_created(order))
    return order


def _order_created(order: Order) -> OrderCreated:
    return OrderCreated(
        order.order_id, order.account_id, order.symbol, order.quantity, order.created_at
    )


def _may_have_reserved(error: BaseException) -> bool:
    """Whether a reserve call that failed with `error` may still have held the shares.

    A call the open circuit refused never left orders (and a release now would be refused too).
    """
    if isinstance(error, Unavailable) and error.reason == CIRCUIT_OPEN:
        return False
    return not isinstance(error, DomainError) or isinstance(error, Unavailable | DeadlineExceeded)


async def _end_quietly(
    placement: Placement, database: Database, holdings: Releaser, may_hold: bool
) -> None:
    """End a placement that will not store its order; what fails here is left to the sweeper,
    and the caller hears why placing failed, not why the clean-up did."""
    try:
        if may_hold:
            await give_back(placement, database, holdings)
        else:
            await database.transact(lambda uow: store.drop_placement(uow, placement))
    except Exception:
        log.warning(
            "placement left for the sweeper to end",
            extra={"order_id": placement.order_id, "attempt_id": placement.attempt_id},
            exc_info=True,
        )
        deadlines_of(database).announce(time.time())


def new_placement(order_id: str) -> Placement:
    """A new attempt at placing `order_id`, due for giving back once its caller is gone."""
    left = remaining()
    budget = UNBOUNDED_SECONDS if left is None else max(left, 0.0)
    return Placement(order_id, uuid.uuid4().hex, time.time() + budget + GRACE_SECONDS)


async def give_back(placement: Placement, database: Database, holdings: Releaser) -> None:
    """Release what the attempt holds unless its order was stored; safe to repeat anywhere."""
    if not await database.transact(lambda uow: store.abandon_placement(uow, placement)):
        return  # the save stored its order (and took the row), or it was given back already
    await holdings.release(placement.order_id, placement.attempt_id)
    await database.transact(lambda uow: store.drop_placement(uow, placement))
    log.info(
        "shares given back for an order that was not stored",
        extra={"order_id": placement.order_id, "attempt_id": placement.attempt_id},
    )


class Deadlines:
    """When the sweeper of one database must look next, as the placements begun in this process
    tell it: it sleeps until the earliest instead of polling, woken sooner by a placement due
    before then (or left for it to end). Other processes' placements it finds in the table."""

    def __init__(self) -> None:
        self._due = math.inf
        self._changed = asyncio.Event()

    def announce(self, due: float) -> None:
        """A placement must be looked at by `due` (time.time()) unless its handler ends it."""
        if due < self._due:
            self._due = due
            self._changed.set()

    @property
    def next_due(self) -> float:
        """The earliest time announced since the sweeper last read the table (inf: none)."""
        return self._due

    def forget(self) -> None:
        """The sweeper is about to read the table: what was announced so far it will see."""
        self._due = math.inf

    async def sleep_until(self, due: float) -> None:
        """Sleep until `due`, or an earlier time announced meanwhile."""
        self.announce(due)
        while (left := self._due - time.time()) > 0:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=left)


# The sweeper and the placements of one database meet here; a Database is one service's.
_deadlines: weakref.WeakKeyDictionary[Database, Deadlines] = weakref.WeakKeyDictionary()


def deadlines_of(database: Database) -> Deadlines:
    deadlines = _deadlines.get(database)
    if deadlines is None:
        deadlines = _deadlines[database] = Deadlines()
    return deadlines


class PlacementSweeper(BackgroundLoop):
    """Gives back the placements that are abandoned or overdue: those whose own handler could
    not (accounts or the database away at the time) or died (a replica killed mid-call).

    It runs at the pace of the deadlines it guards: once for each placement that falls due
    while still recorded, at least every LONGEST_SWEEP_SECONDS, every RETRY_SWEEP_SECONDS
    while one it found due could not be given back yet; idle, it reads one query per bound.
    """

    task_name = "placement sweeper"

    def __init__(
        self,
        database: Database,
        holdings: Releaser,
        longest: float = LONGEST_SWEEP_SECONDS,
        retry: float = RETRY_SWEEP_SECONDS,
    ) -> None:
        super().__init__()
        self._database = database
        self._holdings = holdings
        self._longest = longest
        self._retry = retry
        self._deadlines = deadlines_of(database)

    async def sweep(self) -> int:
        """Give back every due placement; returns how many were due."""
        due, _ = await self._sweep()
        return due

    async def _sweep(self) -> tuple[int, float]:
        """How many placements were due, and when (time.time()) to sweep next."""
        self._deadlines.forget()
        now = time.time()
        horizon = now + self._longest
        soon = await self._database.transact(lambda uow: store.due_placements(uow, horizon))
        due = [placement for placement in soon if placement.due(now)]
        later = [placement.give_back_after for placement in soon if not placement.due(now)]
        failed = False
        for placement in due:
            try:
                await give_back(placement, self._database, self._holdings)
            except Exception:
                failed = True
                log.warning(
                    "could not give back the shares of an abandoned placement yet; will retry",
                    extra={"order_id": placement.order_id},
                    exc_info=True,
                )
        return len(due), min([horizon, *later, *([now + self._retry] if failed else [])])

    async def run(self) -> None:
        while True:
            try:
                _, next_sweep = await self._sweep()
            except Exception:
                log.exception("sweeping placements failed; retrying")
                next_sweep = time.time() + self._retry
            await self._deadlines.sleep_until(next_sweep)
