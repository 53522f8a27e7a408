# Sourced by up.sh, down.sh and kubectl.sh: where the one-node cluster keeps what, by the
# project's conventions (tools linked in .tools/bin by `make tools-k8s`, state in the cache
# folder beside the tools and the Docker engine's, never in the checkout).
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin="$root/.tools/bin"
state=${SIMPLEBANK_K8S_STATE:-${XDG_CACHE_HOME:-$HOME/.cache}/simplebank-mesh/k8s-node}
run=${SIMPLEBANK_K8S_RUN:-/run/simplebank-k8s}
netns=simplebank-k8s
node=simplebank-node
node_ip=10.250.0.1
service_cidr=10.96.0.0/16
pod_cidr=10.244.0.0/24
dns_ip=10.96.0.10
socket="$run/containerd/containerd.sock"
kubeconfig="$state/pki/admin.kubeconfig"

say() { printf '[k8s-node] %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# in_netns COMMAND...: COMMAND in the cluster's network namespace only. nsenter, not
# `ip netns exec`: that one also makes a mount namespace and remounts /sys, which hides the
# cgroup mounts from the kubelet and its volume mounts from containerd.
in_netns() { nsenter --net="/run/netns/$netns" -- "$@"; }

# ctr_k8s ARG...: containerd's client on the node's own socket, in the kubelet's namespace.
ctr_k8s() { ctr --address "$socket" --namespace k8s.io "$@"; }
