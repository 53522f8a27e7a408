"""Paging of ListOrders (Google AIP-158): a page size with a maximum, and an opaque page token
that carries a keyset cursor, the (created_at, order_id) of the last order of the page."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from mesh.errors.kinds import FieldViolation, InvalidArgument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_TOKEN_LENGTH = 512


@dataclass(frozen=True)
class Cursor:
    """Where the previous page ended: orders come newest first, ties by order_id."""

    account_id: str
    created_at: str  # as stored: ISO 8601, compared as text
    order_id: str


def page_size(requested: int) -> int:
    """0 means the default; more than the maximum is read as the maximum (AIP-158)."""
    if requested < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def encode(cursor: Cursor) -> str:
    raw = json.dumps([cursor.account_id, cursor.created_at, cursor.order_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, account_id: str) -> Cursor | None:
    """The cursor in a token of this account's listing; None for the first page."""
    if not token:
        return None
    try:
        if len(token) > MAX_TOKEN_LENGTH:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        fields = json.loads(raw)
        if not (
            isinstance(fields, list)
            and len(fields) == 3
            and all(isinstance(f, str) and f for f in fields)
        ):
            raise ValueError("not a cursor")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidArgument(
            [FieldViolation("page_token", "is not a page token this API gave out")]
        ) from None
    cursor = Cursor(*fields)
    if cursor.account_id != account_id:
        raise InvalidArgument(
            [FieldViolation("page_token", "belongs to a listing of another account")]
        )
    return cursor
