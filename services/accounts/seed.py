"""Which accounts a new accounts database starts with: the demo pair, or a JSON file's."""

from __future__ import annotations

import json
from pathlib import Path

from mesh.config import ConfigError
from services.accounts.domain import Account, Position, demo_accounts


def load_seed(path: str) -> list[Account]:
    """Accounts from ACCOUNTS_SEED_FILE, or the demo accounts when it is not set.

    The file is a JSON list of {"account_id", "customer_id", "cash" (minor units),
    "positions": {"SYMBOL": quantity}}; benchmarks use it to give an account enough shares.
    """
    if not path:
        return demo_accounts()
    try:
        entries = json.loads(Path(path).read_text())
        return [
            Account(
                str(entry["account_id"]),
                str(entry["customer_id"]),
                int(entry["cash"]),
                {s: Position(s, int(q)) for s, q in dict(entry.get("positions", {})).items()},
            )
            for entry in entries
        ]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"ACCOUNTS_SEED_FILE={path!r}: expected a JSON list of accounts ({error})"
        ) from None
