"""Orders through the gateway at a steady rate, as the demo customers, remembering each answer
and when it came; several gateway replicas are called round-robin, as mesh/calls/channels.py
does."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from itertools import cycle

import grpc

from mesh.calls.channels import BALANCING, channel_target
from mesh.errors.status import reason_of
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc

# Bob's GOOG is halted in make run: rejected, released, sold again; alice's shares fill.
SELLERS = (
    ("alice-token", "acc-alice", "AAPL"),
    ("bob-token", "acc-bob", "GOOG"),
    ("alice-token", "acc-alice", "MSFT"),
)
CALL_TIMEOUT_SECONDS = 3.0
OK = "OK"
# Answers that are the customer's business, not the mesh failing: alice sold all her MSFT.
REFUSALS = ("FAILED_PRECONDITION",)


class Load:
    """A thread placing one order every 1/rate seconds until stopped."""

    def __init__(self, gateway: str, rate: float) -> None:
        self._gateway = gateway  # host:port, or the replicas' separated by commas
        self._interval = 1 / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)
        self.accepted: list[str] = []  # order ids of the answers that said OK
        self.answers: Counter[str] = Counter()  # "OK" or "<CODE> <reason>"
        self.timeline: list[tuple[float, bool]] = []  # (monotonic time, the mesh failed it)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def failed_share(self, since: float = 0.0, until: float = float("inf")) -> tuple[int, int]:
        """Calls the mesh failed (an error other than a refusal) and calls made, in a window."""
        window = [failed for at, failed in self.timeline if since <= at <= until]
        return sum(window), len(window)

    def _record(self, answer: str) -> None:
        self.answers[answer] += 1
        failed = answer != OK and not answer.startswith(REFUSALS)
        self.timeline.append((time.monotonic(), failed))

    def _run(self) -> None:
        options = [("grpc.service_config", json.dumps(BALANCING))] if "," in self._gateway else []
        with grpc.insecure_channel(channel_target(self._gateway), options=options) as channel:
            stub = gateway_pb2_grpc.GatewayServiceStub(channel)
            for n, (token, account, symbol) in enumerate(cycle(SELLERS)):
                started = time.monotonic()
                request = gateway_pb2.PlaceSellOrderRequest(
                    account_id=account, symbol=symbol, quantity=1, request_id=f"chaos-{n}"
                )
                try:
                    answer = stub.PlaceSellOrder(
                        request,
                        metadata=(("authorization", f"Bearer {token}"),),
                        timeout=CALL_TIMEOUT_SECONDS,
                    )
                    self.accepted.append(answer.order.order_id)
                    self._record(OK)
                except grpc.RpcError as error:
                    self._record(f"{error.code().name} {reason_of(error)}".strip())
                if self._stop.wait(max(self._interval - (time.monotonic() - started), 0)):
                    return
