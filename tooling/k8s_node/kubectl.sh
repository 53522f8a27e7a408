#!/usr/bin/env bash
# kubectl against the one-node cluster of `make k8s-up`, from inside its network namespace
# (the API server listens there only): tooling/k8s_node/kubectl.sh get pods -A
set -euo pipefail
. "$(dirname "$0")/common.sh"
[ -e "/run/netns/$netns" ] && [ -f "$kubeconfig" ] || die "no cluster is up: make k8s-up"
exec nsenter --net="/run/netns/$netns" -- "$bin/kubectl" --kubeconfig="$kubeconfig" "$@"
