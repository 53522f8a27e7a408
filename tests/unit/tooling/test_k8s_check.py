"""The k8s check's own logic: reading `ss`, refusing probes on undeclared ports and gRPC probes
off the health ports, and telling which Secrets are the certificates it must create."""

from __future__ import annotations

from typing import Any

import pytest

from tooling.k8s_check.certificates import certificate_identities
from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.listening import Listener, parse_ss
from tooling.k8s_check.manifests import (
    grpc_probes_off_health_ports,
    outside,
    undeclared_probe_ports,
)

SS = """\
LISTEN 0      4096         127.0.0.1:34567      0.0.0.0:* users:(("etcd",pid=101,fd=7))
LISTEN 0      4096                 *:6443             *:* users:(("kube-apiserver",pid=102,fd=3))
LISTEN 0      128            0.0.0.0:2024       0.0.0.0:*
LISTEN 0 4096 [::ffff:127.0.0.1]:25266 *:* users:(("python",pid=103,fd=12),("python",pid=104,fd=12))
"""


GRPC_AND_HEALTH = [
    {"name": "grpc", "containerPort": 50054},
    {"name": "health", "containerPort": 9474},
]


def deployment(
    *,
    ports: list[dict[str, Any]],
    probe: dict[str, Any],
    secrets: tuple[str, ...] = (),
    name: str = "fees",
) -> dict[str, Any]:
    container = {"name": name, "ports": ports, "readinessProbe": probe}
    volumes = [{"name": secret, "secret": {"secretName": secret}} for secret in secrets]
    return {
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"template": {"spec": {"containers": [container], "volumes": volumes}}},
    }


def secret(name: str) -> dict[str, Any]:
    return {"kind": "Secret", "metadata": {"name": name}}


def test_ss_rows_become_listeners_of_each_process_named() -> None:
    assert parse_ss(SS) == [
        Listener(101, "etcd", "127.0.0.1", 34567),
        Listener(102, "kube-apiserver", "*", 6443),
        Listener(103, "python", "[::ffff:127.0.0.1]", 25266),
        Listener(104, "python", "[::ffff:127.0.0.1]", 25266),
    ]


def test_a_wildcard_address_counts_as_all_interfaces_and_loopback_does_not() -> None:
    exposed = [listener.program for listener in parse_ss(SS) if listener.on_all_interfaces]
    assert exposed == ["kube-apiserver"]


def test_a_probe_on_a_declared_port_passes() -> None:
    manifest = deployment(
        ports=[{"name": "grpc", "containerPort": 50054}], probe={"grpc": {"port": 50054}}
    )
    assert undeclared_probe_ports([manifest]) == []


def test_a_probe_on_a_declared_port_name_passes() -> None:
    manifest = deployment(
        ports=[{"name": "http", "containerPort": 9090}], probe={"httpGet": {"port": "http"}}
    )
    assert undeclared_probe_ports([manifest]) == []


def test_a_probe_on_a_port_the_container_does_not_declare_is_named() -> None:
    manifest = deployment(
        ports=[{"name": "grpc", "containerPort": 50054}], probe={"grpc": {"port": 50099}}
    )
    [problem] = undeclared_probe_ports([manifest])
    assert problem.startswith("Deployment fees: container fees's readinessProbe (grpc)")
    assert "uses port 50099, which the container does not declare" in problem


def test_objects_without_pod_templates_are_not_read() -> None:
    assert (
        undeclared_probe_ports([{"kind": "Service", "metadata": {"name": "fees"}, "spec": {}}])
        == []
    )


def test_an_object_left_outside_the_overlay_namespace_is_named() -> None:
    manifests = [
        {"kind": "Namespace", "metadata": {"name": "simplebank"}},
        {"kind": "PersistentVolumeClaim", "metadata": {"name": "fees-data"}},
        {"kind": "Service", "metadata": {"name": "fees", "namespace": "simplebank"}},
    ]
    assert outside(manifests, "simplebank") == ["PersistentVolumeClaim fees-data"]


def test_a_grpc_probe_on_the_health_port_passes() -> None:
    manifest = deployment(ports=GRPC_AND_HEALTH, probe={"grpc": {"port": 9474}})
    assert grpc_probes_off_health_ports([manifest]) == []


def test_a_grpc_probe_on_the_mtls_port_is_named() -> None:
    manifest = deployment(ports=GRPC_AND_HEALTH, probe={"grpc": {"port": 50054}})
    [problem] = grpc_probes_off_health_ports([manifest])
    assert problem.startswith("Deployment fees: container fees's readinessProbe (grpc)")
    assert "uses port 50054 (grpc), not its health port" in problem


def test_an_http_probe_may_use_any_declared_port() -> None:
    manifest = deployment(
        ports=[{"name": "http", "containerPort": 9090}], probe={"httpGet": {"port": 9090}}
    )
    assert grpc_probes_off_health_ports([manifest]) == []


def test_mounted_certificate_secrets_the_overlay_does_not_make_are_to_be_created() -> None:
    manifests = [
        deployment(ports=[], probe={}, secrets=("fees-tls", "fees-extra")),
        deployment(ports=[], probe={}, secrets=("probe-tls",), name="blackbox"),
        secret("fees-extra"),
    ]
    assert certificate_identities(manifests) == ["fees", "probe"]


def test_a_mounted_secret_that_is_neither_made_nor_a_certificate_fails() -> None:
    manifests = [deployment(ports=[], probe={}, secrets=("fees-passwords",))]
    with pytest.raises(CheckFailed, match="fees mount Secret fees-passwords, which the overlay"):
        certificate_identities(manifests)


def test_a_tls_secret_of_an_unknown_identity_fails() -> None:
    manifests = [deployment(ports=[], probe={}, secrets=("payments-tls",))]
    with pytest.raises(CheckFailed, match="no certificate of the mesh"):
        certificate_identities(manifests)
