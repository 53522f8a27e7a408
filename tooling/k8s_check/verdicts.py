"""What must hold once an overlay has rolled out: pods placed, spread, budgets, Pod Security."""

from __future__ import annotations

import time
from typing import Any

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.fake_nodes import ZONES
from tooling.k8s_check.kubectl import Kubectl
from tooling.k8s_check.manifests import mounted_secrets

Object = dict[str, Any]
BUDGET_SECONDS = 60
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"  # the Job controller puts it on its pods


def _selects(selector: Object, labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise CheckFailed(f"the check reads only matchLabels selectors, not {selector}")
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def pods_of(workload: Object, pods: list[Object]) -> list[Object]:
    return [p for p in pods if _selects(workload["spec"]["selector"], p["metadata"]["labels"])]


def restricted_namespace(kubectl: Kubectl, namespace: str) -> None:
    [found] = kubectl.get("namespace", f"--field-selector=metadata.name={namespace}")
    level = found["metadata"].get("labels", {}).get("pod-security.kubernetes.io/enforce")
    if level != "restricted":
        raise CheckFailed(f"namespace {namespace} enforces Pod Security level {level!r}")


def mounted_secrets_exist(kubectl: Kubectl, namespace: str, manifests: list[Object]) -> int:
    """Every Secret a pod mounts is there (kwok starts pods without it; a kubelet would not)."""
    present = {s["metadata"]["name"] for s in kubectl.get("secrets", "-n", namespace)}
    missing = sorted(set(mounted_secrets(manifests)) - present)
    if missing:
        raise CheckFailed(f"pods mount Secrets that do not exist: {', '.join(missing)}")
    return len(mounted_secrets(manifests))


def pods_running(kubectl: Kubectl, namespace: str, workloads: list[Object]) -> list[Object]:
    """Every pod a workload wants exists, is on a node, Running and Ready."""
    # A Job's pod ends, never to be Ready: rollout.wait_for_jobs judges it.
    pods = kubectl.get("pods", "-n", namespace, "-l", f"!{JOB_NAME_LABEL}")
    wanted = sum(w["spec"].get("replicas", 1) for w in workloads)
    if len(pods) != wanted:
        raise CheckFailed(f"{len(pods)} pods in {namespace}, the workloads want {wanted}")
    for pod in pods:
        ready = {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
        if not pod["spec"].get("nodeName") or pod["status"].get("phase") != "Running":
            raise CheckFailed(f"pod {pod['metadata']['name']} is not running on a node")
        if ready != "True":
            raise CheckFailed(f"pod {pod['metadata']['name']} is not Ready")
    return pods


def zone_spread(kubectl: Kubectl, workloads: list[Object], pods: list[Object]) -> dict[str, int]:
    """Replicas of one workload land in as many zones as they can; zones used per workload."""
    zone_of = {
        n["metadata"]["name"]: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
        for n in kubectl.get("nodes")
    }
    spread = {}
    for workload in workloads:
        name, replicas = workload["metadata"]["name"], workload["spec"].get("replicas", 1)
        zones = {zone_of[pod["spec"]["nodeName"]] for pod in pods_of(workload, pods)}
        if len(zones) < min(replicas, len(ZONES)):
            raise CheckFailed(f"{name}: {replicas} replicas share zones {sorted(zones)}")
        spread[name] = len(zones)
    return spread


def disruption_budgets(kubectl: Kubectl, namespace: str, workloads: list[Object]) -> int:
    """Each workload of several replicas has one budget, which lets exactly one pod go at a time."""
    replicated = [w for w in workloads if w["spec"].get("replicas", 1) > 1]
    deadline = time.monotonic() + BUDGET_SECONDS
    while True:
        try:
            return _budgets_hold(kubectl, namespace, replicated)
        except CheckFailed:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _budgets_hold(kubectl: Kubectl, namespace: str, replicated: list[Object]) -> int:
    budgets = kubectl.get("poddisruptionbudgets", "-n", namespace)
    for workload in replicated:
        name, replicas = workload["metadata"]["name"], workload["spec"]["replicas"]
        template_labels = workload["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if _selects(b["spec"]["selector"], template_labels)]
        if len(covering) != 1:
            raise CheckFailed(f"{name}: {len(covering)} disruption budgets select its pods")
        status = covering[0].get("status", {})
        if status.get("expectedPods") != replicas or status.get("currentHealthy") != replicas:
            raise CheckFailed(f"{name}: its budget counts {status} of {replicas} pods")
        if status.get("disruptionsAllowed") != 1:
            raise CheckFailed(
                f"{name}: its budget allows {status.get('disruptionsAllowed')} "
                "disruptions, not one at a time"
            )
    return len(replicated)
