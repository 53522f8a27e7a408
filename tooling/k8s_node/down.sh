#!/usr/bin/env bash
# `make k8s-down`: stop the cluster of up.sh and leave nothing of it running or mounted: the
# daemons by the pids up.sh recorded, every pod's container (stopping containerd alone leaves
# the shims and pods running), any process left that still names the node's run folder, the
# mounts under the state and run folders and the pods' network namespaces, the cluster's
# namespace (its bridge, veths, iptables rules and ipsets go with it), the kubepods cgroups, and
# the cluster's state (etcd, PKI, kubelet, volumes). The imported images stay (WIPE=1: them too).
# Safe to run when nothing is up.
set -uo pipefail
. "$(dirname "$0")/common.sh"

stop() {
  local file="$run/pids/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null
    say "stopped $1"
  fi
  rm -f "$file"
}

stop kube-router
stop kube-proxy
stop kubelet
if [ -S "$socket" ]; then
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks kill -s SIGKILL "$task" >/dev/null 2>&1; done
  sleep 1
  for task in $(ctr_k8s tasks ls -q 2>/dev/null); do ctr_k8s tasks rm -f "$task" >/dev/null 2>&1; done
  for container in $(ctr_k8s containers ls -q 2>/dev/null); do ctr_k8s containers rm "$container" >/dev/null 2>&1; done
fi
stop containerd
for component in kube-scheduler kube-controller-manager kube-apiserver etcd; do stop "$component"; done
# Shims (and anything else) of this node that outlived their parents: they name its socket.
for proc in /proc/[0-9]*; do
  if tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -qF "$run/"; then
    kill -9 "${proc#/proc/}" 2>/dev/null && say "killed leftover ${proc#/proc/} ($(cat "$proc/comm" 2>/dev/null))"
  fi
done
# Whatever still runs in the namespace (a pod process whose shim is gone).
if [ -e "/run/netns/$netns" ]; then
  for pid in $(ip netns pids "$netns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null && say "killed $pid in $netns"; done
fi
# Pods' network namespaces: the CNI's, holding an address of the node's pod range.
for ns in /run/netns/cni-*; do
  [ -e "$ns" ] || continue
  if nsenter --net="$ns" ip -4 -o addr show 2>/dev/null | grep -q " ${pod_cidr%.0/24}\."; then
    umount "$ns" 2>/dev/null; rm -f "$ns"
  fi
done
for mount in $(awk '{print $5}' /proc/self/mountinfo | grep -E "^($state|$run)/" | sort -r); do
  umount "$mount" 2>/dev/null || umount -l "$mount"
done
ip netns del "$netns" 2>/dev/null && say "removed network namespace $netns"
for cgroup in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
  [ -d "$cgroup" ] && find "$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null
done
rm -rf "$run" "$state"/{etcd,pki,kubelet,volumes,etc,cni}
if [ "${WIPE:-}" = 1 ]; then rm -rf "$state" && say "wiped $state (images too)"; fi
left=$(ls -d /sys/fs/cgroup/*/kubepods 2>/dev/null)
[ -z "$left" ] || { say "cgroups left: $left"; exit 1; }
say "down"
