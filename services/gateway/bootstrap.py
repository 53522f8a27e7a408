"""The gateway composition root: the one place its parts are built and wired together."""

from __future__ import annotations

from mesh.calls.channels import Upstream
from mesh.config import Env
from mesh.server import Service
from mesh.span_marks import ClientTraceLinkInterceptor
from mesh.trace_header import TraceIdHeaderInterceptor
from services.gateway.admission import AdmissionInterceptor, CustomerConcurrency
from services.gateway.config import GatewayConfig
from services.gateway.handlers import Upstreams
from services.gateway.rate_limit import RateLimiter
from services.gateway.servicer import GatewayServicer
from services.gateway.symbols import ListedSymbols
from simplebank.accounts.v1 import accounts_pb2_grpc
from simplebank.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from simplebank.market.v1 import market_pb2_grpc
from simplebank.orders.v1 import orders_pb2_grpc
from tracing.edge import start_own_traces


def build(env: Env) -> Service:
    config = GatewayConfig.from_env(env)
    # Customers cannot choose the trace their order joins: theirs is a link (tracing/edge.py).
    start_own_traces()
    orders = Upstream(config.orders_addr, tls=config.server.calling("orders"))
    accounts = Upstream(config.accounts_addr, tls=config.server.calling("accounts"))
    market = Upstream(config.market_addr, tls=config.server.calling("market"))
    upstreams = Upstreams(
        orders=orders_pb2_grpc.OrderServiceStub(orders.channel),
        accounts=accounts_pb2_grpc.AccountServiceStub(accounts.channel),
        symbols=ListedSymbols(market_pb2_grpc.MarketServiceStub(market.channel)),
    )
    limiter = RateLimiter(config.rate_per_second, config.rate_burst)
    # One customer's share of the edge, so its load cannot starve the others (admission.py).
    concurrency = CustomerConcurrency(config.max_in_flight_per_customer, config.retry_after_seconds)
    servicer = GatewayServicer(
        config.tokens, upstreams, config.deadline_seconds, limiter, concurrency=concurrency
    )
    return Service(
        config=config.server,
        register=lambda server: gateway_pb2_grpc.add_GatewayServiceServicer_to_server(
            servicer, server
        ),
        service_names=[gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name],
        components=[orders, accounts, market],
        # The edge sheds what it cannot finish in time, so what it admits stays fast.
        interceptors=[
            ClientTraceLinkInterceptor(),
            # Only the edge answers the trace id (grpcurl users call it); each inner hop's
            # header was a gRPC batch of its own, about 145 µs a call.
            TraceIdHeaderInterceptor(),
            AdmissionInterceptor(config.max_in_flight, config.retry_after_seconds),
        ],
        # The edge keeps serving while an upstream restarts (calls then fail UNAVAILABLE with
        # details); the heartbeat shows which upstream is away.
        informational_checks={
            "orders": orders.check,
            "accounts": accounts.check,
            "market": market.check,
        },
    )
