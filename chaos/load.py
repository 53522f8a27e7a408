"""Orders through the gateway at a steady rate, as the demo customers, remembering each answer."""

from __future__ import annotations

import threading
import time
from collections import Counter
from itertools import cycle

import grpc

from mesh.status import reason_of
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc

# Bob's GOOG is halted in make run: rejected, released, sold again; alice's shares fill.
SELLERS = (
    ("alice-token", "acc-alice", "AAPL"),
    ("bob-token", "acc-bob", "GOOG"),
    ("alice-token", "acc-alice", "MSFT"),
)
CALL_TIMEOUT_SECONDS = 3.0


class Load:
    """A thread placing one order every 1/rate seconds until stopped."""

    def __init__(self, gateway: str, rate: float) -> None:
        self._gateway = gateway
        self._interval = 1 / rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)
        self.accepted: list[str] = []  # order ids of the answers that said OK
        self.answers: Counter[str] = Counter()  # "OK" or "<CODE> <reason>"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        with grpc.insecure_channel(self._gateway) as channel:
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
                    self.answers["OK"] += 1
                except grpc.RpcError as error:
                    self.answers[f"{error.code().name} {reason_of(error)}".strip()] += 1
                if self._stop.wait(max(self._interval - (time.monotonic() - started), 0)):
                    return
