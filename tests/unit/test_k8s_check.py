"""The k8s check's own logic: reading `ss`, and refusing probes on undeclared ports."""

from __future__ import annotations

from typing import Any

from scripts.k8s_check.listening import Listener, parse_ss
from scripts.k8s_check.manifests import outside, undeclared_probe_ports

SS = """\
LISTEN 0      4096         127.0.0.1:34567      0.0.0.0:* users:(("etcd",pid=101,fd=7))
LISTEN 0      4096                 *:6443             *:* users:(("kube-apiserver",pid=102,fd=3))
LISTEN 0      128            0.0.0.0:2024       0.0.0.0:*
LISTEN 0 4096 [::ffff:127.0.0.1]:25266 *:* users:(("python",pid=103,fd=12),("python",pid=104,fd=12))
"""


def deployment(*, ports: list[dict[str, Any]], probe: dict[str, Any]) -> dict[str, Any]:
    container = {"name": "fees", "ports": ports, "readinessProbe": probe}
    return {
        "kind": "Deployment",
        "metadata": {"name": "fees"},
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


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
