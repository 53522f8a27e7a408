"""Small command-line tools behind make targets: certs, demo, fault, logs, trace, alerts."""
