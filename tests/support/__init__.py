"""Helpers the tests share: real processes (Jaeger, nats-server, services) and their ports."""
