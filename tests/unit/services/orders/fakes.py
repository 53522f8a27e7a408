"""Fakes of what orders talks to: the accounts service that holds shares, and the outbox relay."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from mesh.calls.deadline import remaining
from mesh.errors.kinds import DomainError


@dataclass
class FakeHoldings:
    """The accounts service as orders sees it: records every call, refuses when told to."""

    refusal: DomainError | None = None
    during_reserve: Callable[[], Awaitable[None]] | None = None
    # Raised after the shares were held, as when the answer is lost on its way back.
    after_reserve: BaseException | None = None
    release_refusal: DomainError | None = None
    reserved: list[tuple[str, str, str, int]] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    released_attempts: list[str] = field(default_factory=list)
    deadlines_at_release: list[float | None] = field(default_factory=list)

    async def reserve(
        self, order_id: str, account_id: str, symbol: str, quantity: int, attempt_id: str
    ) -> None:
        self.attempts.append(attempt_id)
        if self.refusal is not None:
            raise self.refusal
        if self.during_reserve is not None:
            await self.during_reserve()
        self.reserved.append((order_id, account_id, symbol, quantity))
        if self.after_reserve is not None:
            raise self.after_reserve

    async def release(self, order_id: str, attempt_id: str) -> None:
        if self.release_refusal is not None:
            raise self.release_refusal
        self.released.append(order_id)
        self.released_attempts.append(attempt_id)
        self.deadlines_at_release.append(remaining())


@dataclass
class Commits:
    """Stands in for the outbox relay's notify: counts the commits it is told about."""

    count: int = 0

    def __call__(self, events: Sequence[object]) -> None:
        self.count += 1
