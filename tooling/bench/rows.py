"""The configurations the benchmark measures, by the names its table and JSON report use."""

from __future__ import annotations

from tooling.bench.baseline import HOPS

TRACING_ON, SAMPLER_OFF, NO_TRACING, METRICS_OFF, MESH_TLS_OFF, CLUSTER, BASELINE = (
    "tracing on",
    "sampler off",
    "no tracing",
    "metrics off",
    "mesh TLS off",
    "cluster 2x pg 3 nats",
    f"bare grpc.aio, {HOPS} hops",
)
# `make run --postgres`: one process per service, tracing on, state in PostgreSQL.
POSTGRES = "postgres"
# The worst case: every order sells from one customer's one position (the other rows spread
# orders over many accounts). Its shape is the row's spread twin, named after it.
HOT_SQLITE, HOT_POSTGRES, HOT_CLUSTER = (
    "hot account, sqlite",
    "hot account, postgres",
    "hot account, cluster",
)
# Each hot row and the spread row of the same shape.
HOT_OF = {HOT_SQLITE: TRACING_ON, HOT_POSTGRES: POSTGRES, HOT_CLUSTER: CLUSTER}
