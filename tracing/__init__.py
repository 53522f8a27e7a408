"""The one place OpenTelemetry is set up: providers, gRPC interceptors, message-header hops."""
