"""`make demo`: with `make run` going, sell a few orders through the gateway and show their traces.

    python tooling/cli/demo.py      (GATEWAY_ADDR and JAEGER_QUERY_ADDR say where, as for make run)

It drives the mesh the way a person would, with grpcurl from .tools/bin, and needs only the
standard library (and mesh/topology.py, which imports nothing else): place each order
(`grpcurl -v` shows its x-trace-id), poll GetOrder until it is FILLED or REJECTED, then print
each outcome with its trace id and Jaeger link.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: make `mesh` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mesh.topology import BY_NAME

GRPCURL = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "grpcurl"
GATEWAY = "simplebank.gateway.v1.GatewayService"
SETTLE_SECONDS = 15.0
FINAL = ("ORDER_STATUS_FILLED", "ORDER_STATUS_REJECTED")
TRACE_ID = re.compile(r"^x-trace-id: ([0-9a-f]{32})$", re.MULTILINE)


@dataclass(frozen=True)
class Sale:
    customer: str
    account_id: str
    symbol: str
    quantity: int

    def __str__(self) -> str:
        return f"{self.customer} sells {self.quantity} {self.symbol}"


# make run halts GOOG on the simulated exchange, so bob's order shows a rejection.
SALES = (
    Sale("alice", "acc-alice", "AAPL", 2),
    Sale("alice", "acc-alice", "MSFT", 1),
    Sale("bob", "acc-bob", "GOOG", 5),
)


class DemoError(Exception):
    """grpcurl failed; the message says what it printed."""


def grpcurl(token: str, method: str, body: dict[str, Any], *flags: str) -> str:
    tool = str(GRPCURL) if GRPCURL.exists() else shutil.which("grpcurl")
    if tool is None:
        raise DemoError("grpcurl not found: run `make tools` first")
    gateway = os.environ.get("GATEWAY_ADDR") or BY_NAME["gateway"].address
    args = [tool, "-plaintext", *flags, "-H", f"authorization: Bearer {token}"]
    args += ["-d", json.dumps(body), gateway, f"{GATEWAY}/{method}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise DemoError(f"{method} failed: {done.stderr.strip()} (is `make run` going?)")
    return done.stdout


def place(sale: Sale, request_id: str) -> tuple[str, str]:
    """The order id and trace id of a new sell order."""
    body = {
        "account_id": sale.account_id,
        "symbol": sale.symbol,
        "quantity": sale.quantity,
        "request_id": request_id,
    }
    shown = grpcurl(f"{sale.customer}-token", "PlaceSellOrder", body, "-v")
    trace = TRACE_ID.search(shown)
    if trace is None:
        raise DemoError(f"no x-trace-id trailer in the answer to {sale}")
    # -v prints the headers, then the response as JSON after "Response contents:".
    start = shown.index("{", shown.index("Response contents:"))
    answer, _ = json.JSONDecoder().raw_decode(shown, start)
    return str(answer["order"]["orderId"]), trace.group(1)


def wait_until_settled(sale: Sale, order_id: str, deadline: float) -> dict[str, Any]:
    while True:
        answer = json.loads(grpcurl(f"{sale.customer}-token", "GetOrder", {"order_id": order_id}))
        order: dict[str, Any] = answer["order"]
        if order["status"] in FINAL or time.monotonic() > deadline:
            return order
        time.sleep(0.2)


def outcome(order: dict[str, Any]) -> str:
    status = str(order["status"]).removeprefix("ORDER_STATUS_")
    if status == "FILLED":
        proceeds, fee = (int(order[k].get("minorUnits", 0)) / 100 for k in ("proceeds", "fee"))
        return f"{status}, proceeds {proceeds:.2f} USD, fee {fee:.2f} USD"
    return f"{status} ({order['reason']})" if order.get("reason") else status


def main() -> int:
    jaeger = "http://" + (os.environ.get("JAEGER_QUERY_ADDR") or "127.0.0.1:16686")
    run = time.time_ns() // 1_000_000  # request ids unique per run: every run places new orders
    try:
        placed = [(sale, *place(sale, f"demo-{run}-{n}")) for n, sale in enumerate(SALES, 1)]
        print(f"Placed {len(placed)} sell orders; waiting for them to settle ...\n")
        deadline = time.monotonic() + SETTLE_SECONDS
        settled = [
            (sale, trace_id, wait_until_settled(sale, order_id, deadline))
            for sale, order_id, trace_id in placed
        ]
    except DemoError as error:
        print(f"demo failed: {error}", file=sys.stderr)
        return 1
    for sale, trace_id, order in settled:
        print(f"{sale}: {outcome(order)}")
        print(f"  order  {order['orderId']}")
        print(f"  trace  {trace_id}")
        print(f"         {jaeger}/trace/{trace_id}")
        print(f"         make trace ID={trace_id}\n")
    unsettled = [str(sale) for sale, _, order in settled if order["status"] not in FINAL]
    if unsettled:
        print(f"not settled after {SETTLE_SECONDS:.0f}s: {', '.join(unsettled)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
