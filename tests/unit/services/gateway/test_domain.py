"""Unit tests for the gateway domain: tokens, ownership and request validation."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mesh.errors.kinds import InvalidArgument, PermissionDenied, Unauthenticated
from services.gateway.domain import (
    MAX_ORDER_QUANTITY,
    Customer,
    authenticate,
    authorize,
    parse_tokens,
    validate_account_id,
    validate_order_id,
    validate_sell_order,
)

ALICE = Customer("alice", frozenset({"acc-alice"}))
TOKENS = {"alice-token": ALICE}
SYMBOLS = frozenset({"AAPL", "MSFT", "GOOG"})


def sell_order_violations(
    account_id: str = "acc-alice", symbol: str = "AAPL", quantity: int = 10, request_id: str = "r-1"
) -> dict[str, str]:
    try:
        validate_sell_order(account_id, symbol, quantity, request_id, SYMBOLS)
    except InvalidArgument as error:
        return {violation.field: violation.description for violation in error.violations}
    return {}


def denial(customer: Customer, account_id: str) -> PermissionDenied | None:
    try:
        authorize(customer, account_id)
    except PermissionDenied as error:
        return error
    return None


def test_the_default_token_spec_names_alice_and_bob() -> None:
    tokens = parse_tokens("alice-token=alice:acc-alice,bob-token=bob:acc-bob")

    assert tokens == {
        "alice-token": ALICE,
        "bob-token": Customer("bob", frozenset({"acc-bob"})),
    }


def test_a_customer_may_own_several_accounts() -> None:
    tokens = parse_tokens(" t = carol : acc-1 | acc-2 ")

    assert tokens == {"t": Customer("carol", frozenset({"acc-1", "acc-2"}))}


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "alice-token",
        "alice-token=alice",
        "=alice:acc-alice",
        "t=:acc-1",
        "t=carol:",
        "t=c:a|",
        "t=a:acc-a,",
        "t=a:acc-a,t=b:acc-b",
    ],
)
def test_a_malformed_token_spec_is_refused_with_a_message(spec: str) -> None:
    with pytest.raises(ValueError, match="token"):
        parse_tokens(spec)


@pytest.mark.parametrize(
    "header", ["Bearer alice-token", "bearer alice-token", " Bearer  alice-token "]
)
def test_a_bearer_token_names_its_customer(header: str) -> None:
    assert authenticate(TOKENS, header) == ALICE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "MISSING_TOKEN"),
        ("", "MISSING_TOKEN"),
        ("alice-token", "INVALID_TOKEN"),
        ("Basic alice-token", "INVALID_TOKEN"),
        ("Bearer ", "INVALID_TOKEN"),
        ("Bearer bob-token", "INVALID_TOKEN"),
    ],
)
def test_a_call_without_a_known_bearer_token_is_unauthenticated(
    header: str | None, reason: str
) -> None:
    with pytest.raises(Unauthenticated) as raised:
        authenticate(TOKENS, header)

    assert raised.value.reason == reason


def test_a_customer_may_use_their_own_account() -> None:
    assert denial(ALICE, "acc-alice") is None


@pytest.mark.parametrize("account_id", ["acc-bob", "acc-does-not-exist"])
def test_another_customers_account_and_a_missing_one_are_denied_alike(account_id: str) -> None:
    error = denial(ALICE, account_id)

    assert error is not None
    assert error.reason == "NOT_ACCOUNT_OWNER"


def test_a_well_formed_sell_order_has_no_violations() -> None:
    assert sell_order_violations() == {}


def test_every_bad_field_of_a_sell_order_is_reported_at_once() -> None:
    violations = sell_order_violations(account_id="", symbol="ZZZ", quantity=0, request_id="")

    assert violations == {
        "account_id": "must not be empty",
        "symbol": "unknown symbol ZZZ",
        "quantity": "must be positive",
        "request_id": "must not be empty",
    }


@pytest.mark.parametrize("symbol", ["", "aapl", "TOOLONG", "A1"])
def test_a_symbol_must_be_one_to_five_capital_letters(symbol: str) -> None:
    assert set(sell_order_violations(symbol=symbol)) == {"symbol"}


@pytest.mark.parametrize("quantity", [-1, 0, MAX_ORDER_QUANTITY + 1])
def test_a_quantity_must_be_positive_and_at_most_the_maximum(quantity: int) -> None:
    assert set(sell_order_violations(quantity=quantity)) == {"quantity"}


def test_the_largest_allowed_quantity_is_accepted() -> None:
    assert sell_order_violations(quantity=MAX_ORDER_QUANTITY) == {}


@pytest.mark.parametrize("request_id", ["", "x" * 65, "has space", "slash/ed", "ünïcode"])
def test_a_request_id_must_be_short_and_plain(request_id: str) -> None:
    assert set(sell_order_violations(request_id=request_id)) == {"request_id"}


def test_a_request_id_may_be_a_uuid_or_a_dotted_name() -> None:
    ids = ["6f1c1d2e-53a1-4f0e-9a57-3d2b8c1e7a40", "cli.run-7:retry_2", "x" * 64]

    assert [sell_order_violations(request_id=request_id) for request_id in ids] == [{}, {}, {}]


@pytest.mark.parametrize(
    ("validate", "field"), [(validate_order_id, "order_id"), (validate_account_id, "account_id")]
)
@pytest.mark.parametrize("value", ["", "x" * 65])
def test_an_id_in_a_lookup_must_be_present_and_short(
    validate: Callable[[str], None], field: str, value: str
) -> None:
    with pytest.raises(InvalidArgument) as raised:
        validate(value)

    assert [violation.field for violation in raised.value.violations] == [field]
