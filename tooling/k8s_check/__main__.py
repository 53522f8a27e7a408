"""Check each overlay on its own throwaway control plane: python -m tooling.k8s_check [OVERLAY...]

Render with kustomize, refuse probes on undeclared ports and gRPC probes off the health ports,
start the control plane on loopback (nothing may listen on all interfaces), lend it three zoned
kwok nodes, create the certificates' Secrets as docs/deployment.md says, apply server-side with
strict field validation (a server dry run first), wait for every rollout, then check pods, zones,
disruption budgets, mounted Secrets and the namespace's Pod Security level; tear it all down.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from tooling.k8s_check.certificates import certificate_identities, create_certificate_secrets
from tooling.k8s_check.control_plane import ControlPlane, control_plane
from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.fake_nodes import lend
from tooling.k8s_check.kubectl import render
from tooling.k8s_check.manifests import (
    Manifest,
    grpc_probes_off_health_ports,
    namespaces,
    outside,
    parse,
    undeclared_probe_ports,
)
from tooling.k8s_check.rollout import apply, create_namespaces, wait_for_rollouts
from tooling.k8s_check.tools import REPO_ROOT
from tooling.k8s_check.verdicts import (
    disruption_budgets,
    mounted_secrets_exist,
    pods_running,
    restricted_namespace,
    zone_spread,
)

OVERLAYS = REPO_ROOT / "deploy" / "k8s" / "overlays"
DEFAULT_OVERLAYS = (OVERLAYS / "local", OVERLAYS / "production")
LOG = REPO_ROOT / "results" / "k8s-check" / "kwokctl.log"


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


def check_overlay(overlay: Path) -> None:
    started = time.monotonic()
    rendered = render(overlay)
    manifests = parse(rendered)
    namespace = check_manifests(manifests)
    identities = certificate_identities(manifests)
    with control_plane(LOG) as plane:
        sockets = only_loopback(plane)
        say(f"{overlay.name}: control plane up, {sockets} sockets, all on 127.0.0.1")
        lend(plane.kubectl)
        create_namespaces(plane.kubectl, manifests)
        create_certificate_secrets(plane.kubectl, namespace, identities)
        say(f"{overlay.name}: certificate Secrets created for {', '.join(identities)}")
        apply(plane.kubectl, rendered)
        say(f"{overlay.name}: {len(manifests)} objects applied server-side (strict), dry run first")
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
        f"budgets hold, the {secrets} Secrets they mount exist; torn down "
        f"({time.monotonic() - started:.0f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("overlays", nargs="*", type=Path, default=list(DEFAULT_OVERLAYS))
    args = parser.parse_args(argv)
    LOG.parent.mkdir(parents=True, exist_ok=True)
    LOG.write_text("")
    try:
        for overlay in args.overlays:
            check_overlay(overlay)
    except CheckFailed as failure:
        say(f"FAILED: {failure}")
        return 1
    say("all overlays pass")
    return 0


if __name__ == "__main__":
    sys.exit(main())
