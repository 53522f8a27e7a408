"""The rendered manifests as data, and the checks the API server does not make.

The API server accepts a probe on a port the container never declares: the kubelet would probe
it and kill or never admit the pod. So the check refuses it before anything is applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

Manifest = dict[str, Any]
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
PROBE_HANDLERS = ("grpc", "httpGet", "tcpSocket")
CLUSTER_SCOPED = {"Namespace", "PersistentVolume", "ClusterRole", "ClusterRoleBinding"}


def parse(rendered: str) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def workloads(manifests: list[Manifest]) -> Iterator[Manifest]:
    return (m for m in manifests if m["kind"] in POD_TEMPLATE_KINDS)


def containers(workload: Manifest) -> list[dict[str, Any]]:
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod.get("containers", [])]


def undeclared_probe_ports(manifests: list[Manifest]) -> list[str]:
    """One line per probe whose port (number or name) is not among its container's ports."""
    problems = []
    for workload in workloads(manifests):
        for container in containers(workload):
            declared = container.get("ports", [])
            numbers = {port["containerPort"] for port in declared}
            names = {port["name"] for port in declared if "name" in port}
            for probe_name in PROBES:
                probe = container.get(probe_name) or {}
                for handler in PROBE_HANDLERS:
                    port = probe.get(handler, {}).get("port")
                    if port is not None and port not in numbers and port not in names:
                        problems.append(
                            f"{workload['kind']} {workload['metadata']['name']}: container "
                            f"{container['name']}'s {probe_name} ({handler}) uses port {port}, "
                            f"which the container does not declare (ports: {sorted(numbers)})"
                        )
    return problems


def namespaces(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == "Namespace"]


def outside(manifests: list[Manifest], namespace: str) -> list[str]:
    """Objects an overlay places elsewhere than its namespace (e.g. its own resources, when only
    the base sets `namespace:`): kubectl would create them in the default namespace."""
    return [
        f"{m['kind']} {m['metadata']['name']}"
        for m in manifests
        if m["kind"] not in CLUSTER_SCOPED and m["metadata"].get("namespace") != namespace
    ]
