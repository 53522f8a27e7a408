"""What a caller added to a log record with `extra=`: the fields of the mesh's log schema
(mesh/logs.py) beyond the standard ones, written to stderr and shipped to the log store alike."""

from __future__ import annotations

import logging

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    """The fields a caller added with `extra=`."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD}
