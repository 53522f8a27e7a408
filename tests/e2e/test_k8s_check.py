"""`make k8s-check`: the local overlay on a real node and production's on kwok pass, and broken
manifests fail it.

The real-node stage starts the one-node cluster of `make k8s-up` (a real kubelet, containerd,
kube-proxy, kube-router and CoreDNS in a network namespace of its own, as root), runs the
overlay's pods and proves what they do, then stops it and finds nothing of it left. Each kwok
run starts etcd, the API server, the controller manager, the scheduler and kwok on loopback.
All are built by `make tools-k8s`; the check fails, naming the command, when they are missing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.k8s_check import CHECK_SECONDS, broken_copy, run_check
from tooling.k8s_check.real_node import NETNS_PATH, leftovers

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(CHECK_SECONDS + 60)]

FEES = "base/services/fees.yaml"
PROVISION = "base/provision.yaml"


def leftover_workdirs() -> set[Path]:
    return set(Path("/tmp").glob("k8s-check-*"))


def test_local_runs_on_a_real_node_and_production_spreads_over_kwok_zones() -> None:
    assert not NETNS_PATH.exists(), "a cluster is up (make k8s-down): the test starts its own"
    before = leftover_workdirs()
    run = run_check()
    assert run.returncode == 0, run.output
    # The real node: the provisioner made the durables, every pod Ready by its own probes, and
    # each proof of in_cluster.py (the orders' events need those durables).
    assert "local: Jobs run to completion on the kubelet: provision in" in run.output
    assert "local: 10 pods Ready through their real probes on a kubelet" in run.output
    assert "an order through the gateway FILLED" in run.output
    assert "holds gateway, orders, accounts, fees and market" in run.output
    assert "gateway -> accounts connected; fees -> accounts: ConnectionRefusedError" in run.output
    assert "a deleted orders pod was replaced and the next order FILLED" in run.output
    assert "NATS down: no pod restarted" in run.output
    assert "accounts' database held: not Ready, not restarted, Ready after" in run.output
    assert "Secret files: /certs/ca.crt 0o440" in run.output
    assert "interfaces in the namespace, none leading out of it" in run.output
    assert "local: real node passed" in run.output
    assert leftovers() == [], "make k8s-down left part of the cluster behind"
    # kwok: the production overlay's zones and budgets.
    assert "production: control plane up" in run.output
    assert run.output.count("sockets, all on 127.0.0.1") == 1
    assert "production: 10 workloads rolled out" in run.output
    assert "up to 3 zones per workload, 6 disruption budgets hold" in run.output
    assert "the 8 Secrets they mount exist" in run.output
    # kwok runs no pod: the Job's is only admitted.
    assert "the Jobs' pods admitted: provision;" in run.output
    assert leftover_workdirs() <= before, "the check left its work folder behind"


def test_an_unknown_field_is_refused_by_strict_field_validation(tmp_path: Path) -> None:
    overlay = broken_copy(
        tmp_path, FEES, "  revisionHistoryLimit: 5\n", "  revisionHistoryLimitt: 5\n"
    )
    run = run_check(overlay)
    assert run.returncode == 1
    # Refused by the server dry run, before anything is created.
    assert "--dry-run=server" in run.output
    assert ".spec.revisionHistoryLimitt: field not declared in schema" in run.output


@pytest.mark.parametrize("file", [FEES, PROVISION])
def test_a_privileged_container_is_refused_by_pod_security_admission(
    tmp_path: Path, file: str
) -> None:
    overlay = broken_copy(tmp_path, file, "allowPrivilegeEscalation: false", "privileged: true")
    run = run_check(overlay)
    assert run.returncode == 1
    assert 'violate PodSecurity "restricted:latest"' in run.output
    assert "privileged" in run.output


def test_a_probe_on_an_undeclared_port_is_refused_by_the_consistency_check(tmp_path: Path) -> None:
    overlay = broken_copy(
        tmp_path,
        FEES,
        "readinessProbe:\n            grpc: {port: 9474}",
        "readinessProbe:\n            grpc: {port: 50099}",
    )
    run = run_check(overlay)
    assert run.returncode == 1
    assert (
        "readinessProbe (grpc) uses port 50099, which the container does not declare" in run.output
    )


def test_a_grpc_probe_on_the_mtls_port_is_refused_by_the_consistency_check(tmp_path: Path) -> None:
    overlay = broken_copy(
        tmp_path,
        FEES,
        "livenessProbe:\n            grpc: {port: 9474, service: liveness}",
        "livenessProbe:\n            grpc: {port: 50054, service: liveness}",
    )
    run = run_check(overlay)
    assert run.returncode == 1
    assert "livenessProbe (grpc) uses port 50054 (grpc), not its health port" in run.output


def test_a_pod_mounting_a_secret_nobody_makes_is_refused(tmp_path: Path) -> None:
    overlay = broken_copy(tmp_path, FEES, "secretName: fees-tls", "secretName: fees-certs")
    run = run_check(overlay)
    assert run.returncode == 1
    assert "fees mount Secret fees-certs, which the overlay does not make" in run.output
