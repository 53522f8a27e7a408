"""Unit tests for deadline propagation: a call never outlives the deadline of the call it serves."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from mesh.calls.deadline import (
    MARGIN_SECONDS,
    DeadlineClientInterceptor,
    bounded,
    budget,
    detached,
    remaining,
)


def left() -> float:
    seconds = remaining()
    assert seconds is not None, "a deadline is set"
    return seconds


def test_without_a_deadline_a_call_keeps_its_own_timeout() -> None:
    assert remaining() is None
    assert bounded(3.0) == 3.0
    assert bounded(None) is None


def test_a_budget_sets_the_time_left() -> None:
    with budget(1.0):
        assert 0.9 < left() <= 1.0


def test_a_call_gets_the_shorter_of_its_own_timeout_and_what_is_left() -> None:
    with budget(1.0):
        assert bounded(0.1) == 0.1
        assert 0.9 < (bounded(30.0) or 0.0) <= 1.0 - MARGIN_SECONDS
        assert 0.9 < (bounded(None) or 0.0) <= 1.0 - MARGIN_SECONDS


def test_a_call_after_the_deadline_has_passed_gets_no_time_at_all() -> None:
    with budget(0.0):
        assert bounded(5.0) == 0.0


def test_an_inner_budget_can_shorten_the_time_left_but_never_lengthen_it() -> None:
    with budget(1.0):
        with budget(10.0):
            assert left() <= 1.0
        with budget(0.5):
            assert left() <= 0.5
        assert left() > 0.5


def test_the_deadline_is_forgotten_inside_detached_and_back_after_it() -> None:
    with budget(1.0):
        with detached():
            assert remaining() is None
            assert bounded(3.0) == 3.0
        assert left() <= 1.0


def test_a_budget_ends_with_its_block() -> None:
    with budget(1.0):
        pass

    assert remaining() is None


async def test_an_outgoing_call_gets_the_channels_default_timeout_capped_by_the_budget() -> None:
    seen: list[float | None] = []

    async def continuation(details: Any, request: Any) -> None:
        seen.append(details.timeout)

    call = grpc.aio.ClientCallDetails("/svc/Method", None, None, None, None)
    interceptor = DeadlineClientInterceptor(default_timeout=30.0)

    await interceptor.intercept_unary_unary(continuation, call, None)
    with budget(1.0):
        await interceptor.intercept_unary_unary(continuation, call, None)

    assert seen[0] == 30.0
    assert seen[1] == pytest.approx(1.0, abs=0.1)
