"""Real processes and servers for tests: nats-server, Jaeger, the services, proxies, probes."""
