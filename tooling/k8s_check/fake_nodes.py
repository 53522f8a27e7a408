"""What the throwaway cluster lends the mesh: three kwok nodes in three zones, and volumes.

kwok acts as the kubelet of every Node annotated `kwok.x-k8s.io/node: fake`: it keeps the node
Ready and marks the pods the scheduler puts there Running and Ready, without running them.
Claims need volumes to bind before the scheduler places their pods; a real cluster's storage
driver would make them, here a few PersistentVolumes wait (nothing is ever written to them).
"""

from __future__ import annotations

import json

from tooling.k8s_check.kubectl import Kubectl

ZONES = ("zone-a", "zone-b", "zone-c")
VOLUMES = 16  # more than the claims of either overlay (four databases, three NATS servers)


def node(zone: str) -> dict[str, object]:
    name = f"kwok-{zone}"
    capacity = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/zone": zone,
                "type": "kwok",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def volume(index: int) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": f"check-volume-{index}"},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Delete",
            "hostPath": {"path": f"/nonexistent/k8s-check/{index}"},
        },
    }


def lend(kubectl: Kubectl) -> None:
    """Create the nodes and volumes and wait until kwok reports the nodes Ready."""
    objects = [node(zone) for zone in ZONES] + [volume(i) for i in range(VOLUMES)]
    kubectl.run(
        "apply", "-f", "-", stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": objects})
    )
    kubectl.run("wait", "--for=condition=Ready", "node", "--all", "--timeout=120s")
