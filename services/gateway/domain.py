"""Gateway domain: who is calling, what they may touch, and whether their request makes sense."""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from mesh.errors.kinds import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    Unauthenticated,
)

MAX_ORDER_QUANTITY = 1_000_000
MAX_ID_LENGTH = 64
MAX_PAGE_TOKEN_LENGTH = 512
SYMBOL_PATTERN = re.compile(r"[A-Z]{1,5}")
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]+")


@dataclass(frozen=True)
class Customer:
    customer_id: str
    account_ids: frozenset[str]


def parse_tokens(spec: str) -> dict[str, Customer]:
    """Read `token=customer:account|account,...` into the customer each token stands for."""
    if not spec.strip():
        raise ValueError("no tokens given: expected token=customer:account[|account...],...")
    tokens: dict[str, Customer] = {}
    for entry in spec.split(","):
        token, customer = _parse_token_entry(entry.strip())
        if token in tokens:
            raise ValueError(f"token entry {entry.strip()!r} repeats an earlier token")
        tokens[token] = customer
    return tokens


def authenticate(tokens: Mapping[str, Customer], authorization_header: str | None) -> Customer:
    """Find the customer behind an `authorization: Bearer <token>` header."""
    if not authorization_header:
        raise Unauthenticated("missing authorization header", reason="MISSING_TOKEN")
    scheme, _, token = authorization_header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("expected authorization: Bearer <token>", reason="INVALID_TOKEN")
    found = None
    for known, customer in tokens.items():
        # Constant-time comparisons, every token compared: response timing reveals neither how
        # much of a guess matched nor which token it came close to. The token is never logged.
        if hmac.compare_digest(known.encode(), token.encode()):
            found = customer
    if found is None:
        raise Unauthenticated("unknown token", reason="INVALID_TOKEN")
    return found


def authorize(customer: Customer, account_id: str) -> None:
    """Only an account's owner may use it.

    Accounts that do not exist get the same answer, so a caller cannot probe which ids exist.
    """
    if account_id not in customer.account_ids:
        raise PermissionDenied(
            f"customer {customer.customer_id} may not access account {account_id}",
            reason="NOT_ACCOUNT_OWNER",
            metadata={"account_id": account_id},
        )


def authorize_order(customer: Customer, order_id: str, account_id: str) -> None:
    """Only the owner of an order's account may read it.

    Someone else's order is refused exactly like an order that does not exist (the answer
    orders gives), so a caller cannot test which order ids exist: ids derive from account
    and request_id, so a guessable id would otherwise tell whether a request was made.
    """
    if account_id not in customer.account_ids:
        raise NotFound(
            f"no order {order_id}", reason="ORDER_NOT_FOUND", metadata={"order_id": order_id}
        )


def validate_sell_order(
    account_id: str, symbol: str, quantity: int, request_id: str, known_symbols: frozenset[str]
) -> None:
    """Check every field and report every problem at once, so a client fixes them in one go."""
    _raise_if_any(
        _id_violation("account_id", account_id),
        _symbol_violation(symbol, known_symbols),
        _quantity_violation(quantity),
        _request_id_violation(request_id),
    )


def validate_order_id(order_id: str) -> None:
    _raise_if_any(_id_violation("order_id", order_id))


def validate_account_id(account_id: str) -> None:
    _raise_if_any(_id_violation("account_id", account_id))


def validate_listing(account_id: str, page_size: int, page_token: str) -> None:
    """A ListOrders page: the token itself is read (and checked) by orders, which made it."""
    _raise_if_any(
        _id_violation("account_id", account_id),
        FieldViolation("page_size", "must not be negative") if page_size < 0 else None,
        FieldViolation("page_token", f"must be at most {MAX_PAGE_TOKEN_LENGTH} characters")
        if len(page_token) > MAX_PAGE_TOKEN_LENGTH
        else None,
    )


def _parse_token_entry(entry: str) -> tuple[str, Customer]:
    token, equals, owner = (part.strip() for part in entry.partition("="))
    customer_id, colon, accounts = (part.strip() for part in owner.partition(":"))
    account_ids = frozenset(account.strip() for account in accounts.split("|"))
    if not (token and equals and customer_id and colon) or "" in account_ids:
        raise ValueError(
            f"malformed token entry {entry!r}: expected token=customer:account[|account...]"
        )
    return token, Customer(customer_id, account_ids)


def _raise_if_any(*violations: FieldViolation | None) -> None:
    found = [v for v in violations if v is not None]
    if found:
        raise InvalidArgument(found)


def _id_violation(field: str, value: str) -> FieldViolation | None:
    if not value:
        return FieldViolation(field, "must not be empty")
    if len(value) > MAX_ID_LENGTH:
        return FieldViolation(field, f"must be at most {MAX_ID_LENGTH} characters")
    return None


def _symbol_violation(symbol: str, known_symbols: frozenset[str]) -> FieldViolation | None:
    if not symbol:
        return FieldViolation("symbol", "must not be empty")
    if not SYMBOL_PATTERN.fullmatch(symbol):
        return FieldViolation("symbol", "must be 1 to 5 upper-case letters")
    if symbol not in known_symbols:
        return FieldViolation("symbol", f"unknown symbol {symbol}")
    return None


def _quantity_violation(quantity: int) -> FieldViolation | None:
    if quantity <= 0:
        return FieldViolation("quantity", "must be positive")
    if quantity > MAX_ORDER_QUANTITY:
        return FieldViolation("quantity", f"must be at most {MAX_ORDER_QUANTITY}")
    return None


def _request_id_violation(request_id: str) -> FieldViolation | None:
    violation = _id_violation("request_id", request_id)
    if violation is None and not REQUEST_ID_PATTERN.fullmatch(request_id):
        violation = FieldViolation("request_id", "may use only letters, digits and . _ : -")
    return violation
