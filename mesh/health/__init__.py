"""Health: grpc.health.v1 following a service's dependencies, a plaintext probe port, and a
one-shot check."""
