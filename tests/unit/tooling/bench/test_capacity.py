"""The capacity search: a step meets the objective only with p95 <= 100 ms, no errors and the
offered rate sent; the next rate steps up, steps down or halves the gap between the highest pass
and the lowest failure, and the search stops when they are close or the steps run out."""

from __future__ import annotations

from tooling.bench.capacity import (
    Capacity,
    Search,
    Step,
    bracket,
    first_rate,
    next_rate,
    search,
)
from tooling.bench.ghz import Result

PLAN = Search(warmup_seconds=3.0, seconds=10.0, start_fraction=0.6, max_steps=8)


def step(offered: int, p95_ms: float = 50.0, errors: int = 0, sent: float | None = None) -> Step:
    """A step held for PLAN.seconds at `offered`/s: ghz sent `sent`/s (the offered rate if
    not given), `errors` of the calls failed."""
    count = round((offered if sent is None else sent) * PLAN.seconds)
    result = Result(
        count, count - errors, count / PLAN.seconds, PLAN.seconds, 30.0, 25.0, p95_ms, 2 * p95_ms
    )
    return Step(offered, PLAN.seconds, result)


def passed(offered: int) -> Step:
    return step(offered, p95_ms=40.0)


def failed(offered: int) -> Step:
    return step(offered, p95_ms=400.0)


def test_a_step_with_p95_at_the_objective_and_no_errors_meets_it() -> None:
    held = step(60, p95_ms=100.0)

    assert held.passed
    assert held.missed == ""


def test_a_step_over_the_objectives_p95_misses_it() -> None:
    held = step(60, p95_ms=100.5)

    assert not held.passed
    assert held.missed == "p95 100 ms"


def test_one_failed_call_misses_the_objective_however_fast_the_rest() -> None:
    held = step(60, p95_ms=10.0, errors=1)

    assert not held.passed
    assert held.missed == "1 failed"


def test_a_step_in_which_ghz_could_not_send_the_offered_rate_misses_the_objective() -> None:
    held = step(60, p95_ms=10.0, sent=56.0)  # under 95% of 60/s

    assert not held.passed
    assert held.missed == "sent 56/s"


def test_a_loader_a_call_or_two_short_of_the_offered_rate_still_kept_up() -> None:
    assert step(60, sent=57.0).passed
    assert step(1, sent=0.75).passed  # 6 calls of 8
    assert not step(1, sent=0.625).passed  # 5 of 8


def test_every_reason_a_step_missed_is_named() -> None:
    assert step(60, p95_ms=250.0, errors=3, sent=40.0).missed == "3 failed, sent 40/s, p95 250 ms"


def test_the_first_rate_is_a_share_of_the_flat_out_throughput() -> None:
    assert first_rate(100.0, PLAN) == 60
    assert first_rate(0.4, PLAN) == 1


def test_while_every_rate_passed_the_next_is_higher_by_the_step_up() -> None:
    assert next_rate([passed(60)], PLAN) == 75
    assert next_rate([passed(2)], PLAN) == 3  # always above the last, however small


def test_while_every_rate_failed_the_next_is_lower_by_the_step_down() -> None:
    assert next_rate([failed(60)], PLAN) == 42
    assert next_rate([failed(1)], PLAN) is None  # nothing below one order a second


def test_between_a_pass_and_a_failure_the_gap_is_halved() -> None:
    assert next_rate([failed(60), passed(42)], PLAN) == 51
    assert next_rate([failed(60), passed(42), passed(51)], PLAN) == 55


def test_the_search_is_done_once_the_failure_is_within_a_twentieth_of_the_pass() -> None:
    assert next_rate([passed(100), failed(106)], PLAN) == 103
    assert next_rate([passed(100), failed(105)], PLAN) is None


def test_at_low_rates_the_search_is_done_within_a_few_orders_a_second() -> None:
    assert next_rate([passed(20), failed(24)], PLAN) == 22
    assert next_rate([passed(20), failed(23)], PLAN) is None


def test_the_search_stops_when_its_steps_run_out() -> None:
    steps = [passed(10 + i) for i in range(PLAN.max_steps)]

    assert next_rate(steps, PLAN) is None


def test_a_pass_above_a_failure_is_not_counted_as_capacity() -> None:
    steps = [passed(50), failed(60), passed(70)]

    assert bracket(steps) == (50, 60)
    assert next_rate(steps, PLAN) == 55


def test_a_failure_below_every_pass_sends_the_search_below_it() -> None:
    steps = [passed(60), failed(50)]

    assert bracket(steps) == (None, 50)
    assert next_rate(steps, PLAN) == 35


def test_the_search_finds_the_knee_of_a_mesh_without_holding_a_rate_twice() -> None:
    knee = 57  # the fake mesh meets the objective up to this rate, and misses it above

    def hold(rate: int) -> Step:
        return passed(rate) if rate <= knee else failed(rate)

    steps = search(hold, first_rate(105.0, PLAN), PLAN)

    served, missed = bracket(steps)
    offered = [s.offered for s in steps]
    assert served is not None
    assert missed is not None
    assert served <= knee < missed
    assert missed - served <= max(PLAN.resolution * missed, PLAN.min_gap)
    assert len(set(offered)) == len(offered)
    assert len(steps) < PLAN.max_steps


def test_a_search_that_never_fails_stops_after_its_steps() -> None:
    steps = search(passed, 10, PLAN)

    assert [s.offered for s in steps] == [10, 12, 15, 19, 24, 30, 38, 48]


def test_a_searchs_orders_count_every_rate_held_and_its_warm_up() -> None:
    warmed = Step(60, PLAN.seconds, step(60).result, warmup=step(60).result)
    found = Capacity(step(100).result, (warmed, step(75)), seconds=40.0)

    assert found.orders == 600 + 600 + 750
