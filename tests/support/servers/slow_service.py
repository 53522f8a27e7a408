"""A chassis process whose QuoteFee takes SLOW_SECONDS, run as
`python -m tests.support.servers.slow_service ADDR`.

It runs like a real service (JSON logs, ServiceHost.run_until_signalled), so a test can send it
SIGTERM in the middle of a call and watch the graceful shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from mesh.convert import money
from mesh.logs import configure_logging
from mesh.server import ServiceHost
from simplebank.fees.v1 import fees_pb2
from tests.support.servers.grpc_servers import Context, FakeFeeServicer, fee_service

SLOW_SECONDS = 1.5
SHUTDOWN_GRACE_SECONDS = 5.0
CALL_STARTED = "slow call started"
CALL_FINISHED = "slow call finished"

log = logging.getLogger("slow_service")


async def slow_quote(
    request: fees_pb2.QuoteFeeRequest, context: Context
) -> fees_pb2.QuoteFeeResponse:
    log.info(CALL_STARTED)
    await asyncio.sleep(SLOW_SECONDS)
    log.info(CALL_FINISHED)
    return fees_pb2.QuoteFeeResponse(fee=money(request.quantity))


async def main(listen_addr: str) -> None:
    service = fee_service(
        FakeFeeServicer(slow_quote),
        shutdown_grace=SHUTDOWN_GRACE_SECONDS,
        listen_addr=listen_addr,
    )
    await ServiceHost(service).run_until_signalled()


if __name__ == "__main__":
    configure_logging("slow-service", "INFO")
    asyncio.run(main(sys.argv[1]))
