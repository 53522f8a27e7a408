"""A circuit opens on a run of failures or a failure rate, fails fast, probes, and closes."""

from __future__ import annotations

from mesh.calls.breaker import BreakerPolicy, CircuitBreaker, State

POLICY = BreakerPolicy(
    consecutive_failures=3, failure_rate=0.5, minimum_calls=6, window_seconds=10, open_seconds=5
)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker("127.0.0.1:1", POLICY, clock)


def state_of(circuit: CircuitBreaker) -> State:
    """The state now (a function, so a type checker does not carry one check over to the next)."""
    return circuit.state


def calls(circuit: CircuitBreaker, *failed: bool) -> None:
    for outcome in failed:
        assert circuit.allow()
        circuit.record(outcome)


def test_a_run_of_failures_opens_the_circuit_and_calls_are_refused() -> None:
    circuit = breaker(Clock())

    calls(circuit, True, True, True)

    assert state_of(circuit) is State.OPEN
    assert not circuit.allow()


def test_a_run_of_one_methods_failures_opens_it_though_another_method_works_between() -> None:
    """orders releases the shares after each reserve that failed: the release works."""
    circuit = breaker(Clock())

    for _ in range(2):
        assert circuit.allow()
        circuit.record(True, "/accounts/ReserveHoldings")
        assert circuit.allow()
        circuit.record(False, "/accounts/ReleaseHoldings")
    assert state_of(circuit) is State.CLOSED

    assert circuit.allow()
    circuit.record(True, "/accounts/ReserveHoldings")
    assert state_of(circuit) is State.OPEN


def test_a_success_of_the_same_method_ends_its_run() -> None:
    circuit = breaker(Clock())

    for failed in (True, True, False, True, True):
        assert circuit.allow()
        circuit.record(failed, "/accounts/ReserveHoldings")

    assert state_of(circuit) is State.CLOSED


def test_a_success_between_failures_keeps_it_closed_until_the_rate_is_too_high() -> None:
    circuit = breaker(Clock())

    calls(circuit, True, True, False, True, True)
    assert state_of(circuit) is State.CLOSED

    calls(circuit, False)  # six calls, three failed: 50%
    assert state_of(circuit) is State.OPEN


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    circuit = breaker(clock)
    calls(circuit, True, True, False, True, True)

    clock.now += 11
    calls(circuit, False, False, True, True, False, False)

    assert state_of(circuit) is State.CLOSED


def test_after_open_seconds_one_probe_goes_through_and_its_success_closes_the_circuit() -> None:
    clock = Clock()
    circuit = breaker(clock)
    calls(circuit, True, True, True)

    clock.now += 5
    assert circuit.allow()  # the probe
    assert state_of(circuit) is State.HALF_OPEN
    assert not circuit.allow()  # one probe at a time
    circuit.record(False)

    assert state_of(circuit) is State.CLOSED
    assert circuit.allow()


def test_a_failed_probe_opens_the_circuit_again_for_another_open_seconds() -> None:
    clock = Clock()
    circuit = breaker(clock)
    calls(circuit, True, True, True)
    clock.now += 5
    assert circuit.allow()

    circuit.record(True)

    assert state_of(circuit) is State.OPEN
    clock.now += 4
    assert not circuit.allow()


def test_a_cancelled_probe_lets_the_next_call_probe() -> None:
    clock = Clock()
    circuit = breaker(clock)
    calls(circuit, True, True, True)
    clock.now += 5
    assert circuit.allow()

    circuit.record(None)

    assert state_of(circuit) is State.HALF_OPEN
    assert circuit.allow()
