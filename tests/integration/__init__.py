"""Integration tests: one real dependency at a time (Jaeger, NATS, SQLite, gRPC on a port)."""
