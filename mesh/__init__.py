"""The chassis every SimpleBank service stands on, one folder per lesson.

    errors/    the domain's error kinds, the one table to gRPC status codes, out and back
    calls/     channels to other services: deadlines, retries, circuit breakers
    events/    the JetStream bus, the codec, the transactional outbox, the once-only consumer
    storage/   a service's database on SQLite or PostgreSQL, one unit of work per transaction
    security/  mesh TLS, SPIFFE identities, the authorization policy
    faults/    fault injection for the operator
    health/    grpc.health.v1 that follows a service's dependencies

and, flat, what every service and these share: the server host (server), the main() each service
runs (process), configuration (config), the log schema (logs), RED metrics (rpc_metrics), the
interceptor bases, the five services as data (topology), and small helpers.
"""
