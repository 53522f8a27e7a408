"""The bench's load as the real ghz sends it: two gateway replicas (stand-ins that record every
call) loaded at once, every call selling from the account its token stands for, every request
id its own, and the merged result counting each call once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest

from services.gateway.domain import authenticate, parse_tokens
from tooling.bench import fan_out
from tooling.bench.echo import SERVICE, Request, Response, last_hop_answer
from tooling.bench.ghz import Load
from tooling.bench.workload import spread

pytestmark = pytest.mark.integration

WORKLOAD = spread(7)


class Recorder:
    """A PlaceSellOrder server that keeps each call's account, request id and authorization."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()

    def place_sell_order(self, request: Request, context: Any) -> Response:
        headers = dict(context.invocation_metadata())
        with self._lock:
            self.calls.append((request.account_id, request.request_id, headers["authorization"]))
        return last_hop_answer(request)


@pytest.fixture
def replicas() -> Iterator[tuple[list[str], list[Recorder]]]:
    servers, addrs, recorders = [], [], []
    for _ in range(2):
        recorder = Recorder()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        handler = grpc.unary_unary_rpc_method_handler(
            recorder.place_sell_order,
            request_deserializer=Request.FromString,
            response_serializer=Response.SerializeToString,
        )
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(SERVICE, {"PlaceSellOrder": handler}),)
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        servers.append(server)
        addrs.append(f"127.0.0.1:{port}")
        recorders.append(recorder)
    yield addrs, recorders
    for server in servers:
        server.stop(None)


def test_every_replica_is_loaded_and_each_call_carries_its_accounts_token(
    replicas: tuple[list[str], list[Recorder]],
) -> None:
    addrs, recorders = replicas
    tokens = parse_tokens(WORKLOAD.tokens())

    result = fan_out.run(addrs, Load(concurrency=4, total=141), "sat", WORKLOAD)

    calls = [call for recorder in recorders for call in recorder.calls]
    assert (result.count, result.ok) == (141, 141)
    assert [len(r.calls) for r in recorders] == [71, 70]
    assert len({request_id for _, request_id, _ in calls}) == 141
    for account, _, authorization in calls:
        assert account in authenticate(tokens, authorization).account_ids
    sold_from = {account for account, _, _ in calls}
    assert sold_from == {WORKLOAD.account(i) for i in range(7)}
