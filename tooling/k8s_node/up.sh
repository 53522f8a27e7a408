#!/usr/bin/env bash
# `make k8s-up`: a one-node Kubernetes v1.36 cluster with real pods on this machine, all of it in
# a network namespace of its own with no route out: etcd, kube-apiserver, the controller
# manager, the scheduler, containerd (own root, state and socket), the kubelet, kube-proxy
# (iptables), kube-router (NetworkPolicy only) and CoreDNS, with the local overlay's images
# imported and a pool of volumes for its claims. Binaries from `make tools-k8s`; state under
# the cache folder (common.sh). `make k8s-down` (down.sh) removes all of it.
#
# Why each odd setting (the machine: cgroup v1, no systemd, no swap, root without
# CAP_SYS_RESOURCE, no kernel modules; see docs/kubernetes.md):
# - containerd restrict_oom_score_adj: runc cannot write the negative oom_score_adj the
#   kubelet asks for without CAP_SYS_RESOURCE, and no sandbox would start.
# - kubelet failCgroupV1: false, cgroupDriver: cgroupfs (cgroup v1, no systemd).
# - --kubelet-preferred-address-types=InternalIP: otherwise `kubectl logs/exec` makes the API
#   server resolve the node's name through the host's resolver, out of the namespace.
set -euo pipefail
. "$(dirname "$0")/common.sh"

[ "$(id -u)" = 0 ] || die "needs root (network namespace, containerd, the kubelet's mounts)"
for tool in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy \
  kube-router coredns k8s-pause containerd ctr runc; do
  [ -x "$bin/$tool" ] || die "$bin/$tool is missing: run make tools-k8s"
done
[ -x /usr/lib/cni/bridge ] || die "no CNI plugins in /usr/lib/cni: run make tools-k8s"
if [ -e "/run/netns/$netns" ]; then
  kill -0 "$(cat "$run/pids/kube-apiserver.pid" 2>/dev/null)" 2>/dev/null &&
    { say "already up (make k8s-down stops it)"; exit 0; }
  die "network namespace $netns exists without a running cluster: make k8s-down first"
fi
started_at=$SECONDS
mkdir -p "$state"/{pki,logs,etc,cni,volumes} "$run"/{pids,containerd}
# A start that fails halfway stops what it started: nothing is left for make k8s-down to find.
trap 'code=$?; [ $code = 0 ] || { say "failed: stopping what was started"; "$(dirname "$0")/down.sh"; }; exit $code' EXIT

# start NAME COMMAND...: a daemon in the namespace, its pid (nsenter execs it) and log recorded.
start() {
  local name=$1
  shift
  (exec nsenter --net="/run/netns/$netns" -- "$@") >"$state/logs/$name.log" 2>&1 &
  echo $! >"$run/pids/$name.pid"
}
# wait_for WHAT COMMAND...: until COMMAND succeeds, 60 s at most.
wait_for() {
  local what=$1 n=0
  shift
  until "$@" >/dev/null 2>&1; do
    n=$((n + 1))
    [ $n -lt 240 ] || die "$what not ready after 60 s; see $state/logs/"
    sleep 0.25
  done
}
kubectl() { in_netns "$bin/kubectl" --kubeconfig="$kubeconfig" "$@"; }

# --- PKI: a CA, the API server's certificate, the service-account keys, one token per component.
pki="$state/pki"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -out "$pki/ca.crt" -days 7 \
  -subj "/CN=simplebank-node-ca" 2>/dev/null
printf 'subjectAltName=IP:%s,IP:10.96.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\nextendedKeyUsage=serverAuth\n' \
  "$node_ip" >"$pki/apiserver.ext"
openssl req -newkey rsa:2048 -nodes -keyout "$pki/apiserver.key" -out "$pki/apiserver.csr" \
  -subj "/CN=kube-apiserver" 2>/dev/null
openssl x509 -req -in "$pki/apiserver.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
  -out "$pki/apiserver.crt" -days 7 -extfile "$pki/apiserver.ext" 2>/dev/null
openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
: >"$pki/tokens.csv"
for who in "admin|admin|system:masters" "kubelet|system:node:$node|system:nodes" \
  "proxy|system:kube-proxy|" "router|kube-router|system:masters"; do
  IFS='|' read -r short user group <<<"$who"
  token=$(openssl rand -hex 16)
  echo "$token,$user,$short${group:+,\"$group\"}" >>"$pki/tokens.csv"
  cat >"$pki/$short.kubeconfig" <<K
apiVersion: v1
kind: Config
clusters: [{name: simplebank-node, cluster: {server: "https://$node_ip:6443", certificate-authority: "$pki/ca.crt"}}]
users: [{name: $short, user: {token: "$token"}}]
contexts: [{name: simplebank-node, context: {cluster: simplebank-node, user: $short}}]
current-context: simplebank-node
K
done
chmod 600 "$pki"/*.key "$pki"/*.kubeconfig "$pki/tokens.csv"

# --- The network namespace: loopback, and a veth end as the node's interface (no dummy driver
# in this kernel). The default route goes nowhere: nothing answers on the other end.
ip netns add "$netns"
ip -n "$netns" link set lo up
ip -n "$netns" link add node0 type veth peer name node0p
ip -n "$netns" link set node0 up
ip -n "$netns" link set node0p up
ip -n "$netns" addr add "$node_ip/24" dev node0
ip -n "$netns" route add default dev node0
in_netns sysctl -qw net.ipv4.ip_forward=1

# --- Configuration files.
etc="$state/etc"
echo "nameserver 127.0.0.1" >"$etc/resolv.conf" # pods with dnsPolicy Default: no upstream
cat >"$state/cni/10-simplebank.conflist" <<J
{"cniVersion": "0.4.0", "name": "simplebank-node", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "$pod_cidr", "gateway": "${pod_cidr%.0/24}.1"}]],
            "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$run/cni-ipam"}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
J
cat >"$etc/containerd.toml" <<T
version = 2
root = "$state/containerd"
state = "$run/containerd/state"
[grpc]
  address = "$socket"
[ttrpc]
  address = "$socket.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "local/pause:3.10"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "$(readlink -f "$bin/runc")"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni"
T
cat >"$etc/kubelet.yaml" <<Y
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
failSwapOn: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$socket
address: $node_ip
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
# Port 10250 exists only inside the namespace; the API server alone reaches it.
authentication: {anonymous: {enabled: true}, webhook: {enabled: false}, x509: {}}
authorization: {mode: AlwaysAllow}
clusterDomain: cluster.local
clusterDNS: [$dns_ip]
resolvConf: $etc/resolv.conf
serializeImagePulls: false
evictionHard: {memory.available: "100Mi", nodefs.available: "2%", imagefs.available: "2%"}
imageGCHighThresholdPercent: 99
imageGCLowThresholdPercent: 98
maxPods: 60
Y
cat >"$etc/kube-proxy.yaml" <<Y
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $pki/proxy.kubeconfig}
hostnameOverride: $node
mode: iptables
clusterCIDR: ${pod_cidr%.0/24}.0/16
nodePortAddresses: [primary]
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
Y

# --- The control plane.
start etcd "$bin/etcd" --name "$node" --data-dir "$state/etcd" \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster "$node=http://127.0.0.1:2380" --listen-metrics-urls http://127.0.0.1:2381
wait_for etcd in_netns curl -sf http://127.0.0.1:2381/health
start kube-apiserver "$bin/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
  --bind-address="$node_ip" --advertise-address="$node_ip" --secure-port=6443 \
  --service-cluster-ip-range="$service_cidr" --tls-cert-file="$pki/apiserver.crt" \
  --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
  --token-auth-file="$pki/tokens.csv" --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --kubelet-preferred-address-types=InternalIP
wait_for kube-apiserver in_netns curl -sf --cacert "$pki/ca.crt" "https://$node_ip:6443/readyz"
start kube-controller-manager "$bin/kube-controller-manager" --kubeconfig="$kubeconfig" \
  --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --service-account-private-key-file="$pki/sa.key" \
  --root-ca-file="$pki/ca.crt" --use-service-account-credentials=true --allocate-node-cidrs=true \
  --cluster-cidr="${pod_cidr%.0/24}.0/16" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$service_cidr" --leader-elect=false
start kube-scheduler "$bin/kube-scheduler" --kubeconfig="$kubeconfig" \
  --authentication-kubeconfig="$kubeconfig" --authorization-kubeconfig="$kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false

# --- The node: containerd with the images, the kubelet, kube-proxy, kube-router.
PATH="$(dirname "$(readlink -f "$bin/containerd")"):$PATH" start containerd "$bin/containerd" --config "$etc/containerd.toml"
wait_for containerd ctr_k8s version
"$(dirname "$0")/images.sh"
start kubelet "$bin/kubelet" --config="$etc/kubelet.yaml" --kubeconfig="$pki/kubelet.kubeconfig" \
  --hostname-override="$node" --node-ip="$node_ip" --root-dir="$state/kubelet" \
  --cert-dir="$state/kubelet/pki"
start kube-proxy "$bin/kube-proxy" --config="$etc/kube-proxy.yaml"
wait_for "the node" kubectl wait --for=condition=Ready "node/$node" --timeout=1s
start kube-router "$bin/kube-router" --kubeconfig="$pki/router.kubeconfig" \
  --hostname-override="$node" --run-firewall=true --run-router=false --run-service-proxy=false \
  --enable-cni=false --enable-ipv6=false --health-port=0 --service-cluster-ip-range="$service_cidr"

# --- CoreDNS, and the volumes a provisioner would make: hostPath folders, world-writable as
# local-path-provisioner makes them (fsGroup does not apply to hostPath).
kubectl apply --server-side -f "$(dirname "$0")/coredns.yaml" >/dev/null
for i in $(seq 1 8); do
  mkdir -p "$state/volumes/pv-$i" && chmod 0777 "$state/volumes/pv-$i"
  cat <<V
apiVersion: v1
kind: PersistentVolume
metadata: {name: node-volume-$i}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $state/volumes/pv-$i, type: Directory}
---
V
done | kubectl apply --server-side -f - >/dev/null
kubectl -n kube-system rollout status deployment/coredns --timeout=60s >/dev/null ||
  die "CoreDNS did not become ready; see $0's logs in $state/logs/"
say "up in $((SECONDS - started_at)) s: node $node Ready, CoreDNS Ready, NetworkPolicy enforced by kube-router"
say "kubectl: tooling/k8s_node/kubectl.sh get pods -A    (stop: make k8s-down)"
