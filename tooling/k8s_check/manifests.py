"""The rendered manifests as data, and the checks the API server does not make.

The API server accepts a probe on a port the container never declares: the kubelet would probe
it and kill or never admit the pod. It also accepts a gRPC probe on a service's mTLS port, which
the kubelet cannot pass (it has no certificate of the mesh): the probe must ask the plaintext
health port, declared under the name `health`. The check refuses both before anything is applied.
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
HEALTH_PORT_NAME = "health"  # the plaintext grpc.health.v1 port (mesh/health/port.py)


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


def grpc_probes_off_health_ports(manifests: list[Manifest]) -> list[str]:
    """One line per gRPC probe whose port is declared under another name than `health`."""
    problems = []
    for workload in workloads(manifests):
        for container in containers(workload):
            names = {p["containerPort"]: p.get("name") for p in container.get("ports", [])}
            for probe_name in PROBES:
                port = (container.get(probe_name) or {}).get("grpc", {}).get("port")
                if port in names and names[port] != HEALTH_PORT_NAME:
                    problems.append(
                        f"{workload['kind']} {workload['metadata']['name']}: container "
                        f"{container['name']}'s {probe_name} (grpc) uses port {port} "
                        f"({names[port] or 'unnamed'}), not its {HEALTH_PORT_NAME} port: the "
                        "kubelet has no certificate for the mesh's mTLS ports"
                    )
    return problems


def mounted_secrets(manifests: list[Manifest]) -> dict[str, set[str]]:
    """Secret name -> the workloads whose pods mount it as a volume."""
    found: dict[str, set[str]] = {}
    for workload in workloads(manifests):
        for volume in workload["spec"]["template"]["spec"].get("volumes", []):
            sources = [volume.get("secret")] + [
                source.get("secret") for source in volume.get("projected", {}).get("sources", [])
            ]
            for source in filter(None, sources):
                name = source.get("secretName") or source["name"]
                found.setdefault(name, set()).add(workload["metadata"]["name"])
    return found


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
