"""Control characters in any string field of a request are violations naming the field."""

from __future__ import annotations

import pytest

from mesh.errors.kinds import InvalidArgument
from mesh.input_check import check_strings, control_character_violations
from simplebank.gateway.v1 import gateway_pb2
from simplebank.orders.v1 import orders_pb2

CONTROL = [chr(c) for c in (*range(0x20), 0x7F)]


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_every_control_character_is_refused(char: str) -> None:
    request = gateway_pb2.GetOrderRequest(order_id=f"o{char}1")

    with pytest.raises(InvalidArgument) as refused:
        check_strings(request)

    assert [v.field for v in refused.value.violations] == ["order_id"]


def test_nested_and_repeated_fields_are_named_by_their_path() -> None:
    response = orders_pb2.ListOrdersResponse(
        orders=[
            orders_pb2.Order(order_id="fine"),
            orders_pb2.Order(symbol="A\x00", history=[orders_pb2.StatusChange(note="a\nb")]),
        ],
        next_page_token="\x7f",
    )

    fields = [v.field for v in control_character_violations(response)]

    assert fields == ["orders[1].symbol", "orders[1].history[0].note", "next_page_token"]


def test_printable_text_and_non_ascii_letters_pass() -> None:
    request = gateway_pb2.PlaceSellOrderRequest(
        account_id="acc-alice", symbol="AAPL", request_id="é-ü:1.2_3", quantity=1
    )

    assert control_character_violations(request) == []
