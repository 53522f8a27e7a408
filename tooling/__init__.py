"""Tooling, apart from the product: the `make run` launcher (run.py, launcher/), a mesh on free
ports for bench, chaos and the tests (harness/), the benchmark (bench/), chaos (chaos/), the
Kubernetes check (k8s_check/), the small CLIs behind make targets (cli/) and shell scripts (sh/).
The product never imports it."""
