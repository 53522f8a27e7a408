"""Whose orders the benchmark places: many customers, each selling from an account of its own
(spread), or every order from one position (the hot account, the worst case).

Each account is a customer with a token of its own, seeded through ACCOUNTS_SEED_FILE and
GATEWAY_TOKENS. ghz picks the account of each call with a Go template on its request number
(`{{mod (add .RequestNumber OFFSET) N}}`), in the request's account_id and in the token of its
authorization header alike: both are rendered from the same request number, so they agree.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SPREAD_ACCOUNTS = 1000
QUICK_SPREAD_ACCOUNTS = 50
# Each PlaceSellOrder sells one share: more than any run sells, even all of it from one account.
SHARES = 100_000_000
SYMBOL = "AAPL"
ACCOUNT_PREFIX = "acc-bench-"
# Longer than the 32 characters GATEWAY_TOKENS asks for outside the demo, before the account's
# number is added: the bench needs no demo mode. No padding: the template renders plain numbers.
TOKEN_PREFIX = "simplebank-bench-token-of-account-"


@dataclass(frozen=True)
class Workload:
    """`accounts` customers, one account and one token each; orders go to them in turn."""

    name: str
    accounts: int

    def account(self, index: int) -> str:
        return f"{ACCOUNT_PREFIX}{index}"

    def token(self, index: int) -> str:
        return f"{TOKEN_PREFIX}{index}"

    def seed(self) -> list[dict[str, Any]]:
        """ACCOUNTS_SEED_FILE's entries: each account holds SHARES of SYMBOL and no cash."""
        return [
            {
                "account_id": self.account(i),
                "customer_id": f"bench-{i}",
                "cash": 0,
                "positions": {SYMBOL: SHARES},
            }
            for i in range(self.accounts)
        ]

    def seed_json(self) -> str:
        return json.dumps(self.seed())

    def tokens(self) -> str:
        """GATEWAY_TOKENS: token=customer:account for every account."""
        return ",".join(
            f"{self.token(i)}=bench-{i}:{self.account(i)}" for i in range(self.accounts)
        )

    def index_template(self, offset: int = 0) -> str:
        """The account's index for a call, as a ghz (Go text/template, sprig) expression.

        `offset` starts a second ghz (another gateway replica) elsewhere in the accounts,
        so two loaders do not walk them in step. No quotes inside: ghz reads the metadata as
        JSON before it renders the template.
        """
        if self.accounts == 1:
            return "0"
        number = f"(add .RequestNumber {offset})" if offset else ".RequestNumber"
        return f"{{{{mod {number} {self.accounts}}}}}"

    def data(self, request_prefix: str, offset: int = 0) -> dict[str, Any]:
        """ghz's --data: a one-share sell order, its own request_id on every call."""
        return {
            "account_id": f"{ACCOUNT_PREFIX}{self.index_template(offset)}",
            "symbol": SYMBOL,
            "quantity": 1,
            "request_id": f"{request_prefix}-{{{{.WorkerID}}}}-{{{{.RequestNumber}}}}",
        }

    def metadata(self, offset: int = 0) -> dict[str, str]:
        """ghz's --metadata: the bearer token of the call's account."""
        return {"authorization": f"Bearer {TOKEN_PREFIX}{self.index_template(offset)}"}


def spread(accounts: int = SPREAD_ACCOUNTS) -> Workload:
    return Workload(f"spread over {accounts} accounts", accounts)


HOT = Workload("hot account: every order from one position", 1)
