"""Unit tests for the fees gRPC API: a quote in, a fee in money out."""

from __future__ import annotations

import pytest

from mesh.convert import money
from mesh.errors.kinds import InvalidArgument
from services.fees.domain import FeeSchedule
from services.fees.servicer import FeeServicer
from simplebank.fees.v1 import fees_pb2
from tests.unit.services.context import UNREAD_CONTEXT


async def quote(notional: int) -> fees_pb2.QuoteFeeResponse:
    servicer = FeeServicer(FeeSchedule(flat=100, basis_points=10))
    return await servicer.QuoteFee(
        fees_pb2.QuoteFeeRequest(notional=money(notional)), UNREAD_CONTEXT
    )


async def test_a_quote_is_the_fee_in_the_meshs_currency() -> None:
    assert (await quote(1_900_000)).fee == money(2_000)


async def test_a_quote_for_a_negative_notional_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        await quote(-1)
