"""The overlays on Kubernetes: python -m tooling.k8s_check [--real-node-only] [OVERLAY...]

Two stages. The real node (tooling/k8s_node, `make k8s-up`'s cluster, started and stopped here
when none is up): the local overlay applied as the docs say, the provision Job run to its end,
every pod Ready through its real probes, then the proofs of in_cluster.py (an order FILLED with
its five-service trace, the NetworkPolicies refusing fees -> accounts, a deleted pod replaced,
NATS and database outages taking pods out of service without restarts, the Secrets' file
modes). Then kwok, for what one
node cannot show (the production overlay's three zones), and for any OVERLAY named:

Render with kustomize, refuse probes on undeclared ports and gRPC probes off the health ports,
start the control plane on loopback (nothing may listen on all interfaces), lend it three zoned
kwok nodes, create the certificates' Secrets as docs/deployment.md says, apply server-side with
strict field validation (a server dry run first), wait for every rollout (a Job's: its pod
admitted), then check pods, zones, disruption budgets, mounted Secrets and the namespace's Pod
Security level; tear it all down.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from tooling.k8s_check.certificates import certificate_identities, create_certificate_secrets
from tooling.k8s_check.control_plane import ControlPlane, control_plane
from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.fake_nodes import lend
from tooling.k8s_check.in_cluster import (
    database_outage_unreadies,
    nats_outage_restarts_nothing,
    order_fills_with_its_trace,
    policies_bite,
    replaced_pod_keeps_filling,
    secret_modes,
)
from tooling.k8s_check.kubectl import render
from tooling.k8s_check.manifests import (
    Manifest,
    grpc_probes_off_health_ports,
    namespaces,
    outside,
    parse,
    undeclared_probe_ports,
)
from tooling.k8s_check.real_node import real_node
from tooling.k8s_check.rollout import apply, create_namespaces, wait_for_jobs, wait_for_rollouts
from tooling.k8s_check.tools import REPO_ROOT
from tooling.k8s_check.verdicts import (
    disruption_budgets,
    mounted_secrets_exist,
    pods_running,
    restricted_namespace,
    zone_spread,
)

OVERLAYS = REPO_ROOT / "deploy" / "k8s" / "overlays"
DEFAULT_OVERLAYS = (OVERLAYS / "production",)  # on kwok; overlays/local on the real node
REAL_NODE_OVERLAY = OVERLAYS / "local"
LOG = REPO_ROOT / "results" / "k8s-check" / "kwokctl.log"
NODE_LOG = REPO_ROOT / "results" / "k8s-check" / "real-node.log"


def say(message: str) -> None:
    print(f"[k8s-check] {message}", flush=True)


def only_loopback(plane: ControlPlane) -> int:
    """The control plane's sockets, all on loopback; how many there are."""
    listeners = plane.listeners()
    if not listeners:
        raise CheckFailed("found no listening socket of the control plane: cannot vouch for it")
    exposed = [
        f"{s.program} (pid {s.pid}) on {s.host}:{s.port}" for s in listeners if s.on_all_interfaces
    ]
    if exposed:
        raise CheckFailed("the control plane listens on all interfaces: " + ", ".join(exposed))
    return len(listeners)


def check_manifests(manifests: list[Manifest]) -> str:
    problems = undeclared_probe_ports(manifests)
    if problems:
        raise CheckFailed("probes on undeclared ports:\n" + "\n".join(problems))
    problems = grpc_probes_off_health_ports(manifests)
    if problems:
        raise CheckFailed("gRPC probes off the health ports:\n" + "\n".join(problems))
    found = namespaces(manifests)
    if len(found) != 1:
        raise CheckFailed(f"an overlay must create exactly one namespace, not {len(found)}")
    name: str = found[0]["metadata"]["name"]
    strays = outside(manifests, name)
    if strays:
        raise CheckFailed(f"not in namespace {name}: " + ", ".join(strays))
    return name


def names(objects: list[dict[str, Any]]) -> str:
    return ", ".join(o["metadata"]["name"] for o in objects) or "none"


def run_times(jobs: list[dict[str, Any]]) -> str:
    """How long each completed Job ran, from its status."""
    took = []
    for job in jobs:
        status = job["status"]
        start, end = (datetime.fromisoformat(status[f]) for f in ("startTime", "completionTime"))
        took.append(f"{job['metadata']['name']} in {(end - start).total_seconds():.0f} s")
    return ", ".join(took) or "none"


def prepared(overlay: Path) -> tuple[str, list[Manifest], str, list[str]]:
    """The overlay rendered, its objects, their checked namespace and the certificate
    identities its Secrets need: what both stages start from."""
    rendered = render(overlay)
    manifests = parse(rendered)
    return rendered, manifests, check_manifests(manifests), certificate_identities(manifests)


def check_overlay(overlay: Path) -> None:
    started = time.monotonic()
    rendered, manifests, namespace, identities = prepared(overlay)
    with control_plane(LOG) as plane:
        sockets = only_loopback(plane)
        say(f"{overlay.name}: control plane up, {sockets} sockets, all on 127.0.0.1")
        lend(plane.kubectl)
        create_namespaces(plane.kubectl, manifests)
        create_certificate_secrets(plane.kubectl, namespace, identities)
        say(f"{overlay.name}: certificate Secrets created for {', '.join(identities)}")
        apply(plane.kubectl, rendered)
        say(f"{overlay.name}: {len(manifests)} objects applied server-side (strict), dry run first")
        jobs = wait_for_jobs(plane.kubectl, namespace, complete=False)
        workloads = wait_for_rollouts(plane.kubectl, namespace)
        restricted_namespace(plane.kubectl, namespace)
        secrets = mounted_secrets_exist(plane.kubectl, namespace, manifests)
        pods = pods_running(plane.kubectl, namespace, workloads)
        spread = zone_spread(plane.kubectl, workloads, pods)
        budgets = disruption_budgets(plane.kubectl, namespace, workloads)
        only_loopback(plane)
    widest = max(spread.values())
    say(
        f"{overlay.name}: {len(workloads)} workloads rolled out, {len(pods)} pods admitted under "
        f"`restricted` and Running, up to {widest} zones per workload, {budgets} disruption "
        f"budgets hold, the {secrets} Secrets they mount exist, the Jobs' pods admitted: "
        f"{names(jobs)}; torn down "
        f"({time.monotonic() - started:.0f} s)"
    )


def check_on_real_node(overlay: Path) -> None:
    """The overlay on a real kubelet, then every proof of in_cluster.py; the namespace deleted."""
    started = time.monotonic()
    rendered, manifests, namespace, identities = prepared(overlay)
    with real_node(NODE_LOG) as node:
        say(f"real node: up ({time.monotonic() - started:.0f} s), kubelet, containerd, kube-router")
        existing = node.kubectl.get("namespaces", f"--field-selector=metadata.name={namespace}")
        if existing:
            raise CheckFailed(
                f"namespace {namespace} exists on the running cluster: the check would replace "
                f"and then delete it (kubectl delete namespace {namespace}, or make k8s-down)"
            )
        try:
            create_namespaces(node.kubectl, manifests)
            create_certificate_secrets(node.kubectl, namespace, identities)
            apply(node.kubectl, rendered)
            jobs = wait_for_jobs(node.kubectl, namespace, complete=True)
            say(f"{overlay.name}: Jobs run to completion on the kubelet: {run_times(jobs)}")
            workloads = wait_for_rollouts(node.kubectl, namespace)
            restricted_namespace(node.kubectl, namespace)
            pods = pods_running(node.kubectl, namespace, workloads)
            say(f"{overlay.name}: {len(pods)} pods Ready through their real probes on a kubelet")
            links = node.sealed()
            say(f"{overlay.name}: {links} interfaces in the namespace, none leading out of it")
            trace = order_fills_with_its_trace(node)
            say(f"{overlay.name}: an order through the gateway FILLED; trace {trace} in Jaeger "
                "holds gateway, orders, accounts, fees and market")  # fmt: skip
            allowed, refused = policies_bite(node)
            say(f"{overlay.name}: gateway -> accounts {allowed}; fees -> accounts: {refused}")
            say(f"{overlay.name}: Secret files: " + secret_modes(node).replace("\n", "; "))
            taken = replaced_pod_keeps_filling(node)
            say(
                f"{overlay.name}: a deleted orders pod was replaced and the next order FILLED "
                f"(taken {taken:.0f} s after the new pod was Ready)"
            )
            nats_outage_restarts_nothing(node)
            say(f"{overlay.name}: NATS down: no pod restarted; the order taken meanwhile FILLED")
            database_outage_unreadies(node)
            say(f"{overlay.name}: accounts' database held: not Ready, not restarted, Ready after")
        finally:
            node.kubectl.run("delete", "namespace", namespace, "--wait=true", timeout=180)
            node.recycle_volumes()
    say(f"{overlay.name}: real node passed ({time.monotonic() - started:.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "overlays", nargs="*", type=Path, help="on kwok only (default: both stages)"
    )
    parser.add_argument("--real-node-only", action="store_true", help="skip the kwok stage")
    args = parser.parse_args(argv)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    NODE_LOG.write_text("")
    try:
        if not args.overlays:
            check_on_real_node(REAL_NODE_OVERLAY)
        for overlay in [] if args.real_node_only else args.overlays or DEFAULT_OVERLAYS:
            check_overlay(overlay)
    except CheckFailed as failure:
        say(f"FAILED: {failure}")
        return 1
    say("all overlays pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
