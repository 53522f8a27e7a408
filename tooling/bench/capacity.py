"""The objective's capacity: the highest fixed rate of orders the mesh answers within its
objective (95% of calls within 100 ms, none failing), found by holding one rate at a time and
narrowing between the highest rate that passed and the lowest that failed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tooling.bench.ghz import Result

OBJECTIVE_P95_MS = 100.0
# A step in which ghz sent fewer calls than this share of the offered rate failed: the mesh did
# not take that rate (every worker was waiting on it), however fast the calls it took were.
KEEP_UP = 0.95
# ghz's pacer may end a call short of rate x seconds, once per loader (the cluster has two):
# that is not falling behind, and at a few orders a second it is more than 5%.
SLACK_CALLS = 2


@dataclass(frozen=True)
class Search:
    """How long each rate is held, where the search starts, and when it stops."""

    warmup_seconds: float  # each rate is held this long first, its calls not counted
    seconds: float  # then measured for this long
    start_fraction: float  # the first rate: this share of the flat-out throughput
    max_steps: int
    resolution: float = 0.05  # done when the lowest failing rate is within this share ...
    min_gap: int = 3  # ... or this many orders/s of the highest passing one
    step_up: float = 1.25  # nothing failed yet: try this much more
    step_down: float = 0.7  # nothing passed yet: try this much less


@dataclass(frozen=True)
class Step:
    """One rate held: `offered` calls a second asked of ghz, what it measured over `seconds`
    (and what it counted in the warm-up before, which the verdict leaves out)."""

    offered: int
    seconds: float
    result: Result
    warmup: Result | None = None

    @property
    def sent_rps(self) -> float:
        return self.result.count / self.seconds if self.seconds else 0.0

    @property
    def kept_up(self) -> bool:
        """Whether ghz sent the offered rate, near enough."""
        return self.result.count + SLACK_CALLS >= KEEP_UP * self.offered * self.seconds

    @property
    def missed(self) -> str:
        """Why this step missed the objective ("" where it met it)."""
        reasons = []
        if self.result.errors:
            reasons.append(f"{self.result.errors} failed")
        if not self.kept_up:
            reasons.append(f"sent {self.sent_rps:.0f}/s")
        if self.result.p95_ms > OBJECTIVE_P95_MS:
            reasons.append(f"p95 {self.result.p95_ms:.0f} ms")
        return ", ".join(reasons)

    @property
    def passed(self) -> bool:
        return not self.missed


@dataclass(frozen=True)
class Capacity:
    """A search's steps in the order held, the flat-out run it started from, its wall time."""

    flat_out: Result
    steps: tuple[Step, ...]
    seconds: float

    @property
    def orders(self) -> int:
        """Orders the mesh accepted during the search, warm-ups included."""
        runs = [run for s in self.steps for run in (s.warmup, s.result) if run is not None]
        return sum(run.ok for run in runs)

    @property
    def rate(self) -> int | None:
        """Orders/s served within the objective; None where no rate held passed."""
        return bracket(self.steps)[0]

    @property
    def lowest_failed(self) -> int | None:
        return bracket(self.steps)[1]


def first_rate(flat_out_rps: float, search: Search) -> int:
    return max(round(flat_out_rps * search.start_fraction), 1)


def bracket(steps: Sequence[Step]) -> tuple[int | None, int | None]:
    """The highest rate that passed below every rate that failed, and the lowest that failed.

    A pass above a failure is noise on a busy machine, not capacity: the claim stays below the
    lowest rate at which the mesh missed its objective.
    """
    failed = min((s.offered for s in steps if not s.passed), default=None)
    passed = max(
        (s.offered for s in steps if s.passed and (failed is None or s.offered < failed)),
        default=None,
    )
    return passed, failed


def narrow_enough(passed: int, failed: int, search: Search) -> bool:
    return failed - passed <= max(search.resolution * failed, search.min_gap)


def next_rate(steps: Sequence[Step], search: Search) -> int | None:
    """The rate to hold next after `steps` (at least one); None when the search is done."""
    if len(steps) >= search.max_steps:
        return None
    passed, failed = bracket(steps)
    if failed is None:
        assert passed is not None, "a step either passed or failed"
        return max(round(passed * search.step_up), passed + 1)
    if passed is None:
        lower = min(round(failed * search.step_down), failed - 1)
        return lower if lower >= 1 else None
    if narrow_enough(passed, failed, search):
        return None
    return (passed + failed) // 2


def search(hold: Callable[[int], Step], start: int, plan: Search) -> tuple[Step, ...]:
    """Hold rates from `start` on (`hold` measures one) until next_rate says done."""
    steps: list[Step] = []
    rate: int | None = start
    while rate is not None:
        steps.append(hold(rate))
        rate = next_rate(steps, plan)
    return tuple(steps)
