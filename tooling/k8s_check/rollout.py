"""Apply an overlay to the cluster and wait until every workload has rolled out.

Strict server-side field validation refuses unknown fields; Pod Security admission refuses
pods that break the namespace's level when the controllers create them, which shows as
FailedCreate events (and, in warn mode, as warnings on apply): both are failures here.
A Job (the provisioner) rolls out when it has made its pod, which admission judged; only a real
kubelet runs it to completion (kwok marks it done without running anything).
"""

from __future__ import annotations

import time
from typing import Any

import yaml

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.kubectl import Kubectl, Result
from tooling.k8s_check.manifests import Manifest, namespaces

# --validate=strict: the API server refuses unknown or duplicate fields (fieldValidation=Strict).
APPLY = ("apply", "--server-side", "--validate=strict", "--field-manager=k8s-check")
ROLLOUT_SECONDS = 240


def create_namespaces(kubectl: Kubectl, manifests: list[Manifest]) -> None:
    """The overlay's namespaces, for real, before the rest: a server-side dry run of an object
    in a namespace that does not exist yet fails, and Pod Security judges pod templates by their
    namespace's labels (and the certificates' Secrets go in there before the pods)."""
    _refuse_warnings(
        kubectl.run(*APPLY, "-f", "-", stdin=yaml.safe_dump_all(namespaces(manifests)))
    )


def apply(kubectl: Kubectl, rendered: str) -> None:
    """Dry-run on the server first, then apply for real."""
    _refuse_warnings(kubectl.run(*APPLY, "--dry-run=server", "-f", "-", stdin=rendered))
    _refuse_warnings(kubectl.run(*APPLY, "-f", "-", stdin=rendered))


def _refuse_warnings(result: Result) -> None:
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning:")]
    if warnings:
        raise CheckFailed("the API server warned:\n" + "\n".join(warnings))


def wait_for_rollouts(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    """Poll until every Deployment and StatefulSet is rolled out; return them."""
    deadline = time.monotonic() + ROLLOUT_SECONDS
    while True:
        _refuse_failed_creates(kubectl, namespace)
        workloads = kubectl.get("deployments,statefulsets", "-n", namespace)
        waiting = [w for w in workloads if not _rolled_out(w)]
        if not waiting:
            break
        if time.monotonic() > deadline:
            names = ", ".join(f"{w['kind']} {w['metadata']['name']}" for w in waiting)
            raise CheckFailed(f"not rolled out after {ROLLOUT_SECONDS} s: {names}")
        time.sleep(1)
    # kubectl's own verdict too, now that the status says so.
    for workload in workloads:
        kind, name = workload["kind"].lower(), workload["metadata"]["name"]
        kubectl.run("rollout", "status", f"{kind}/{name}", "-n", namespace, "--timeout=60s")
    return workloads


def wait_for_jobs(kubectl: Kubectl, namespace: str, complete: bool) -> list[dict[str, Any]]:
    """Poll until every Job has made its pod (and, if `complete`, run it to the end); return
    them. A Job that gave up is a failure showing its pod's last lines."""
    deadline = time.monotonic() + ROLLOUT_SECONDS
    while True:
        _refuse_failed_creates(kubectl, namespace)
        jobs = kubectl.get("jobs", "-n", namespace)
        for job in jobs:
            _refuse_failed(kubectl, namespace, job)
        waiting = [j for j in jobs if not (_completed(j) if complete else _started(j))]
        if not waiting:
            return jobs
        if time.monotonic() > deadline:
            names = ", ".join(j["metadata"]["name"] for j in waiting)
            done = "complete" if complete else "started"
            raise CheckFailed(f"Jobs not {done} after {ROLLOUT_SECONDS} s: {names}")
        time.sleep(1)


def _started(job: dict[str, Any]) -> bool:
    status = job.get("status", {})
    pods: int = sum(status.get(field, 0) for field in ("active", "succeeded", "failed"))
    return pods > 0


def _completed(job: dict[str, Any]) -> bool:
    return _condition(job, "Complete") is not None


def _condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    conditions = job.get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == kind and c["status"] == "True"), None)


def _refuse_failed(kubectl: Kubectl, namespace: str, job: dict[str, Any]) -> None:
    failed = _condition(job, "Failed")
    if failed is None:
        return
    name = job["metadata"]["name"]
    try:
        logs = kubectl.run("logs", f"job/{name}", "-n", namespace, "--tail=20").stdout
    except CheckFailed as no_logs:  # its pod may be gone already
        logs = str(no_logs)
    raise CheckFailed(
        f"Job {name} failed ({failed.get('reason')}: {failed.get('message')}); its pod's last "
        f"lines:\n{logs}"
    )


def _rolled_out(workload: dict[str, Any]) -> bool:
    spec, status = workload["spec"], workload.get("status", {})
    replicas = spec.get("replicas", 1)
    if status.get("observedGeneration", 0) < workload["metadata"]["generation"]:
        return False
    counts = [status.get(field, 0) for field in ("updatedReplicas", "readyReplicas")]
    if workload["kind"] == "Deployment":
        counts.append(status.get("availableReplicas", 0))
    return all(count == replicas for count in counts) and status.get("replicas") == replicas


def _refuse_failed_creates(kubectl: Kubectl, namespace: str) -> None:
    events = kubectl.get("events", "-n", namespace, "--field-selector=reason=FailedCreate")
    if events:
        messages = sorted({event["message"] for event in events})
        raise CheckFailed("the controllers could not create pods:\n" + "\n".join(messages))
