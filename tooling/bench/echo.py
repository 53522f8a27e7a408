"""One hop of the bare baseline: a plain grpc.aio server that passes PlaceSellOrder on.

    python -m tooling.bench.echo --listen 127.0.0.1:PORT [--next 127.0.0.1:PORT]

No chassis, no tracing, no interceptors, no database: it parses the request, calls the next
hop with it (if any) and returns that answer, or, as the last hop, an order made of the request.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import grpc

from simplebank.gateway.v1 import gateway_pb2

SERVICE = "simplebank.gateway.v1.GatewayService"
METHOD = f"/{SERVICE}/PlaceSellOrder"
TIMEOUT_SECONDS = 5.0

Request = gateway_pb2.PlaceSellOrderRequest
Response = gateway_pb2.PlaceSellOrderResponse


def last_hop_answer(request: Request) -> Response:
    return Response(
        order=gateway_pb2.Order(
            order_id=request.request_id,
            account_id=request.account_id,
            symbol=request.symbol,
            quantity=request.quantity,
            status=gateway_pb2.ORDER_STATUS_PENDING,
        )
    )


async def serve(listen: str, next_hop: str | None) -> None:
    channel = grpc.aio.insecure_channel(next_hop) if next_hop else None
    forward = (
        channel.unary_unary(
            METHOD,
            request_serializer=Request.SerializeToString,
            response_deserializer=Response.FromString,
        )
        if channel
        else None
    )

    async def place_sell_order(request: Request, context: Any) -> Response:
        if forward is None:
            return last_hop_answer(request)
        answer: Response = await forward(request, timeout=TIMEOUT_SECONDS)
        return answer

    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    handler = grpc.unary_unary_rpc_method_handler(
        place_sell_order,
        request_deserializer=Request.FromString,
        response_serializer=Response.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(SERVICE, {"PlaceSellOrder": handler}),)
    )
    if server.add_insecure_port(listen) == 0:
        raise OSError(f"cannot listen on {listen}")
    await server.start()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(0)
    if channel is not None:
        await channel.close(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--next", dest="next_hop")
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.next_hop))


if __name__ == "__main__":
    main()
