"""deploy/k8s agrees with compose.yaml and the code, and its NetworkPolicies allow the call graph.

No cluster here: kustomize (the pinned kubectl's) builds the overlays, and the checks read them.
`make k8s-check` (tests/e2e/test_k8s_check.py) applies them to a real control plane.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from mesh.events.provision import TIMEOUT_SECONDS
from mesh.health.service import LIVENESS
from mesh.security.identity import NATS_SERVER, PROBE, PROVISIONER
from mesh.security.tls import MeshTls
from mesh.topology import BY_NAME, NAMES
from tests.support import REPO_ROOT
from tests.support.tools.compose import (
    app_services,
    compose_services,
    config_file,
    environment,
    memory_limit,
)
from tests.support.tools.env_reads import variables_read_by
from tests.support.tools.kustomize import container, env, find, overlay
from tests.support.tools.network_policy import OUTSIDE, allowed_edges
from tooling.k8s_check.certificates import certificate_identities, from_files

pytestmark = pytest.mark.integration

OVERLAYS = ("local", "production")
EVENT_SERVICES = ("orders", "accounts", "fees", "market")
PROVISION = "provision"  # the Job, named as compose's one-shot service
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "Job"}
# Set on Kubernetes and not in compose, each for a reason of the cluster's.
CLUSTER_ONLY = {
    "SHUTDOWN_DRAIN_SECONDS": "endpoints take seconds to drop a terminating pod",
    "GATEWAY_TOKENS": "customers' tokens come from a Secret",
}
MEMORY_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def compose_image(name: str) -> str:
    image: str = compose_services()[name]["image"]
    return image


def byte_count(quantity: str | int) -> int:
    if isinstance(quantity, int) or quantity.isdigit():
        return int(quantity)
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]+)", quantity).groups()  # type: ignore[union-attr]
    return int(number) * MEMORY_UNITS[unit]


def seconds(duration: str | int) -> int:
    return int(duration) if isinstance(duration, int) else int(duration.removesuffix("s"))


@pytest.mark.parametrize("name", NAMES)
def test_each_service_runs_the_compose_image_with_the_compose_command(name: str) -> None:
    spec = container("local", "Deployment", name)
    assert spec["image"] == compose_image(name)  # simplebank-mesh:local, `docker build` names it
    assert spec["command"] == app_services()[name]["command"]


@pytest.mark.parametrize("name", ["nats", "jaeger", "prometheus", "alertmanager", "blackbox"])
def test_the_other_containers_run_the_compose_images(name: str) -> None:
    kind = "StatefulSet" if name == "nats" else "Deployment"
    for overlay_name in OVERLAYS:  # compose's image variables unset: their defaults
        assert container(overlay_name, kind, name)["image"] == compose_image(name)


@pytest.mark.parametrize("name", NAMES)
def test_each_service_declares_its_contract_and_metrics_ports(name: str) -> None:
    ports = {p["name"]: p["containerPort"] for p in container("local", "Deployment", name)["ports"]}
    service = BY_NAME[name]
    assert ports == {
        "grpc": service.port,
        "metrics": service.metrics_port,
        "health": service.health_port,
    }


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_compose_sets_is_set_the_same_on_kubernetes(name: str) -> None:
    on_kubernetes = env(container("local", "Deployment", name))
    compose = environment(app_services()[name])
    differing = {k for k in compose if on_kubernetes.get(k) != compose[k]}
    assert not differing, sorted(differing)


@pytest.mark.parametrize("overlay_name", OVERLAYS)
@pytest.mark.parametrize("name", NAMES)
def test_every_variable_kubernetes_sets_is_read_by_the_code(overlay_name: str, name: str) -> None:
    variables = set(env(container(overlay_name, "Deployment", name)))
    unread = variables - variables_read_by(name, NAMES)
    assert not unread, f"no code of services/{name}/, mesh/ or tracing/ reads {sorted(unread)}"


@pytest.mark.parametrize("name", NAMES)
def test_variables_beyond_compose_are_the_cluster_only_ones(name: str) -> None:
    extra = set(env(container("local", "Deployment", name))) - set(
        environment(app_services()[name])
    )
    allowed = {v.replace("<SERVICE>", name.upper()) for v in CLUSTER_ONLY}
    assert extra <= allowed, f"set on Kubernetes only, without a reason: {sorted(extra - allowed)}"


@pytest.mark.parametrize("name", ["nats", "jaeger"])
def test_nats_and_jaeger_get_the_compose_variables(name: str) -> None:
    kind = "StatefulSet" if name == "nats" else "Deployment"
    on_kubernetes = env(container("local", kind, name))
    compose = environment(compose_services()[name])
    assert {k: on_kubernetes.get(k) for k in compose} == compose


def test_nats_runs_the_compose_command_then_names_itself() -> None:
    """compose's command: config/nats/mesh.json (TLS, users), JetStream, store, monitoring."""
    args = container("local", "StatefulSet", "nats")["args"]
    assert args == [*compose_services()["nats"]["command"], "--name", "$(POD_NAME)"]


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_nats_reads_config_nats_mesh_json_where_compose_mounts_it(overlay_name: str) -> None:
    [config] = compose_services()["nats"]["configs"]
    [(path, source)] = [
        (path, source)
        for path, source in mounted_files(overlay_name, "StatefulSet", "nats").items()
        if source[0] == "ConfigMap"
    ]
    config_map = find(overlay_name, "ConfigMap", source[1])
    assert path == config["target"]
    assert config_map["data"][source[2]] == config_file(config["source"]).read_text()


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_nats_finds_the_certificate_files_its_config_names(overlay_name: str) -> None:
    config = json.loads((REPO_ROOT / "config" / "nats" / "mesh.json").read_text())
    named = {config["tls"][key] for key in ("cert_file", "key_file", "ca_file")}
    assert named <= secret_files(overlay_name, "StatefulSet", "nats")


@pytest.mark.parametrize("overlay_name", OVERLAYS)
@pytest.mark.parametrize(
    ("kind", "name", "identity"),
    [("Deployment", n, n) for n in NAMES] + [("Job", PROVISION, PROVISIONER)],
)
def test_each_process_of_the_image_finds_its_certificate_files_where_mesh_certs_dir_says(
    overlay_name: str, kind: str, name: str, identity: str
) -> None:
    certs_dir = env(container(overlay_name, kind, name))["MESH_CERTS_DIR"]
    files = MeshTls(identity, Path(certs_dir))
    wanted = {str(path) for path in (files.cert_file, files.key_file, files.ca_file)}
    assert secret_files(overlay_name, kind, name) == wanted


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_the_blackbox_exporter_finds_the_probe_certificate_its_modules_name(
    overlay_name: str,
) -> None:
    modules = yaml.safe_load((REPO_ROOT / "config" / "prometheus" / "blackbox.yml").read_text())
    named = {
        path
        for module in modules["modules"].values()
        for key, path in module.get("grpc", {}).get("tls_config", {}).items()
        if key.endswith("_file")
    }
    assert named
    assert named <= secret_files(overlay_name, "Deployment", "blackbox")


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_certificates_come_from_secrets_made_outside_the_overlay_one_per_identity(
    overlay_name: str,
) -> None:
    """`<identity>-tls`, never generated by kustomize, which would overwrite issued certificates
    with each apply (docs/deployment.md: cert-manager, or `make certs` and `kubectl create
    secret`)."""
    mounted = {
        (workload["metadata"]["name"], volume["secret"]["secretName"])
        for workload in _workloads(overlay_name)
        for volume in workload["spec"]["template"]["spec"].get("volumes", [])
        if "secret" in volume
    }
    made = {m["metadata"]["name"] for m in overlay(overlay_name) if m["kind"] == "Secret"}
    identities = {"nats": NATS_SERVER, "blackbox": PROBE, PROVISION: PROVISIONER} | {
        name: name for name in NAMES
    }
    assert mounted == {(workload, f"{identities[workload]}-tls") for workload in identities}
    assert not {secret for _, secret in mounted} & made


def test_jaeger_runs_the_compose_command_with_the_project_config() -> None:
    spec = container("local", "Deployment", "jaeger")
    assert spec["args"] == compose_services()["jaeger"]["command"]
    jaeger = find("local", "Deployment", "jaeger")["spec"]["template"]["spec"]
    [config_volume] = [v for v in jaeger["volumes"] if "configMap" in v]
    [mount] = [m for m in spec["volumeMounts"] if m["name"] == config_volume["name"]]
    [item] = config_volume["configMap"]["items"]
    target = compose_services()["jaeger"]["configs"][0]["target"]
    assert f"{mount['mountPath']}/{item['path']}" == target


@pytest.mark.parametrize("overlay_name", OVERLAYS)
@pytest.mark.parametrize("name", NAMES)
def test_probes_ask_grpc_health_on_the_health_port_the_compose_health_check_asks(
    overlay_name: str, name: str
) -> None:
    compose_port = int(app_services()[name]["healthcheck"]["test"][-1].rpartition(":")[2])
    spec = container(overlay_name, "Deployment", name)
    assert compose_port == BY_NAME[name].health_port
    for probe in ("startupProbe", "readinessProbe"):
        assert spec[probe] == {**spec[probe], "grpc": {"port": compose_port}}


@pytest.mark.parametrize("overlay_name", OVERLAYS)
@pytest.mark.parametrize("name", NAMES)
def test_liveness_asks_whether_the_process_answers_readiness_whether_its_dependencies_do(
    overlay_name: str, name: str
) -> None:
    """A database or NATS outage makes pods not ready, never restarts them: liveness asks for
    the `liveness` service, SERVING while the process runs (mesh/health/service.py)."""
    spec = container(overlay_name, "Deployment", name)
    port = BY_NAME[name].health_port
    assert spec["livenessProbe"]["grpc"] == {"port": port, "service": LIVENESS}
    assert spec["readinessProbe"]["grpc"] == {"port": port}  # "": the dependencies' verdict


@pytest.mark.parametrize(("kind", "name"), [("StatefulSet", "nats"), ("Deployment", "jaeger")])
def test_nats_and_jaeger_probes_ask_what_the_compose_health_checks_ask(
    kind: str, name: str
) -> None:
    url = urlsplit(compose_services()[name]["healthcheck"]["test"][-1])
    spec = container("local", kind, name)
    for probe in ("readinessProbe", "livenessProbe"):
        http = spec[probe]["httpGet"]
        assert (urlsplit(http["path"]).path, http["port"]) == (url.path, url.port)


@pytest.mark.parametrize(
    ("kind", "name"),
    [("Deployment", n) for n in NAMES]
    + [("StatefulSet", "nats"), ("Deployment", "jaeger"), ("Job", PROVISION)],
)
def test_memory_limits_are_the_compose_ones(kind: str, name: str) -> None:
    limit = container("local", kind, name)["resources"]["limits"]["memory"]
    compose_limit = memory_limit(compose_services()[name])
    assert compose_limit is not None
    assert byte_count(limit) == byte_count(compose_limit)


@pytest.mark.parametrize("name", NAMES)
def test_services_run_as_locked_down_as_in_compose(name: str) -> None:
    compose = app_services()[name]
    assert compose["read_only"]
    assert compose["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in compose["security_opt"]
    context = container("local", "Deployment", name)["securityContext"]
    assert context == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    pod = find("local", "Deployment", name)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == seconds(compose["stop_grace_period"])


def test_the_provision_job_runs_the_compose_image_command_and_variables() -> None:
    spec = container("local", "Job", PROVISION)
    compose = compose_services()[PROVISION]
    assert (spec["image"], spec["command"]) == (compose["image"], compose["command"])
    assert env(spec) == environment(compose)


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_the_provision_job_reaches_the_nats_servers_the_event_services_do(
    overlay_name: str,
) -> None:
    job = env(container(overlay_name, "Job", PROVISION))["NATS_URL"]
    services = {env(container(overlay_name, "Deployment", n))["NATS_URL"] for n in EVENT_SERVICES}
    assert services == {job}


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_the_provision_job_runs_as_locked_down_as_the_services(overlay_name: str) -> None:
    """The namespace's `restricted` level, and compose's lock-down of its one-shot."""
    compose = compose_services()[PROVISION]
    assert compose["read_only"]
    assert compose["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in compose["security_opt"]
    job = find(overlay_name, "Job", PROVISION)["spec"]["template"]["spec"]
    assert job["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert not job["automountServiceAccountToken"]
    assert not job["enableServiceLinks"]
    [spec] = job["containers"]
    for name in NAMES:
        service = find(overlay_name, "Deployment", name)["spec"]["template"]["spec"]
        assert service["securityContext"] == job["securityContext"]
        assert service["containers"][0]["securityContext"] == spec["securityContext"]


def test_the_provision_job_tries_again_as_compose_does_for_minutes() -> None:
    """NATS may come up long after the Job: each try waits TIMEOUT_SECONDS for it."""
    assert compose_services()[PROVISION]["restart"] == "on-failure"
    job = find("local", "Job", PROVISION)["spec"]
    assert job["template"]["spec"]["restartPolicy"] == "OnFailure"
    assert job["backoffLimit"] * TIMEOUT_SECONDS >= 5 * 60


def test_a_finished_provision_job_goes_so_that_the_next_apply_runs_it_again() -> None:
    """Its pod template cannot change and a finished Job does not run again: the next install
    or upgrade must find it gone."""
    assert 0 < find("local", "Job", PROVISION)["spec"]["ttlSecondsAfterFinished"] <= 3600


@pytest.mark.parametrize("name", EVENT_SERVICES)
def test_locally_each_database_lives_on_a_claim_of_its_own(name: str) -> None:
    pod = find("local", "Deployment", name)["spec"]["template"]["spec"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["mountPath"] == "/data"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume == {"name": "data", "persistentVolumeClaim": {"claimName": f"{name}-data"}}
    assert find("local", "PersistentVolumeClaim", f"{name}-data")


def test_locally_one_of_everything() -> None:
    replicas = {m["metadata"]["name"]: m["spec"].get("replicas", 1) for m in _workloads("local")}
    assert set(replicas.values()) == {1}


def test_in_production_every_service_and_nats_has_three_replicas_and_a_budget() -> None:
    replicated = {n for n in [*NAMES, "nats"]}
    replicas = {m["metadata"]["name"]: m["spec"].get("replicas") for m in _workloads("production")}
    assert {n: replicas[n] for n in replicated} == dict.fromkeys(replicated, 3)
    budgets = {
        m["metadata"]["name"] for m in overlay("production") if m["kind"] == "PodDisruptionBudget"
    }
    assert budgets == replicated


@pytest.mark.parametrize("name", EVENT_SERVICES)
def test_in_production_event_services_reach_three_nats_servers_and_their_database(
    name: str,
) -> None:
    variables = env(container("production", "Deployment", name))
    urls = [urlsplit(u) for u in variables["NATS_URL"].split(",")]
    assert [u.hostname for u in urls] == [f"nats-{i}.nats-cluster" for i in range(3)]
    assert {u.scheme for u in urls} == {"tls"}  # the base's (and compose's) mTLS to NATS
    assert "'key': '" + name + "'" in variables["DATABASE_URL"]


def test_production_nats_is_a_routed_cluster_of_its_three_servers() -> None:
    args = container("production", "StatefulSet", "nats")["args"]
    assert args[: args.index("--name")] == compose_services()["nats"]["command"]
    routes = args[args.index("--routes") + 1].split(",")
    assert routes == [f"nats://nats-{i}.nats-cluster:6222" for i in range(3)]
    assert find("production", "Service", "nats-cluster")["spec"]["clusterIP"] == "None"


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_the_namespace_enforces_the_restricted_pod_security_level(overlay_name: str) -> None:
    labels = find(overlay_name, "Namespace", "simplebank")["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_no_real_secret_is_committed(overlay_name: str) -> None:
    secrets = [m for m in overlay(overlay_name) if m["kind"] == "Secret"]
    values = [base64.b64decode(v).decode() for s in secrets for v in s.get("data", {}).values()]
    assert values, "no Secret to look at"
    assert not [v for v in values if "PRIVATE KEY" in v or "CERTIFICATE" in v]
    assert not [v for v in values if "://" in v and "replace-me" not in v]


def _workloads(overlay_name: str) -> list[dict[str, Any]]:
    return [m for m in overlay(overlay_name) if m["kind"] in WORKLOAD_KINDS]


def mounted_files(overlay_name: str, kind: str, name: str) -> dict[str, tuple[str, str, str]]:
    """Each file the container sees from a volume listing its items: path -> (kind of source,
    its name, its key)."""
    pod = find(overlay_name, kind, name)["spec"]["template"]["spec"]
    [spec] = pod["containers"]
    mounts = {m["name"]: m["mountPath"] for m in spec.get("volumeMounts", [])}
    files = {}
    for volume in pod.get("volumes", []):
        for source_kind, field, name_key in (
            ("Secret", "secret", "secretName"),
            ("ConfigMap", "configMap", "name"),
        ):
            source = volume.get(field)
            if source is None or volume["name"] not in mounts:
                continue
            for item in source.get("items", []):
                path = f"{mounts[volume['name']]}/{item['path']}"
                files[path] = (source_kind, source[name_key], item["key"])
    return files


def secret_files(overlay_name: str, kind: str, name: str) -> set[str]:
    return {
        path
        for path, (source, _, _) in mounted_files(overlay_name, kind, name).items()
        if source == "Secret"
    }


def _pods(overlay_name: str) -> dict[str, dict[str, Any]]:
    pods = {}
    for workload in _workloads(overlay_name):
        template = workload["spec"]["template"]
        ports = [
            p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
        ]
        pods[workload["metadata"]["name"]] = {
            "labels": template["metadata"]["labels"],
            "ports": ports,
        }
    return pods


def nats_edges(name: str, variables: dict[str, str]) -> set[tuple[str, str, int]]:
    urls = variables["NATS_URL"].split(",") if "NATS_URL" in variables else []
    return {(name, "nats", urlsplit(url).port or 4222) for url in urls}


def expected_edges() -> set[tuple[str, str, int]]:
    """The calls the configuration makes, the watchers' probes and scrapes, and customers."""
    edges = {(OUTSIDE, "gateway", BY_NAME["gateway"].port), ("nats", "nats", 6222)}
    for name in NAMES:
        variables = env(container("production", "Deployment", name))
        for variable, value in variables.items():
            if variable.endswith("_ADDR") and not variable.endswith(
                ("_LISTEN_ADDR", "_METRICS_ADDR", "_HEALTH_ADDR")
            ):
                host, _, port = value.rpartition(":")
                edges.add((name, host, int(port)))
        edges |= nats_edges(name, variables)
        edges.add((name, "jaeger", urlsplit(variables["OTEL_EXPORTER_OTLP_ENDPOINT"]).port or 4317))
        edges.add(("prometheus", name, BY_NAME[name].metrics_port))
        edges.add(("blackbox", name, BY_NAME[name].port))
        # The kubelet's probes come from the node, outside the namespace's pods.
        edges.add((OUTSIDE, name, BY_NAME[name].health_port))
    edges |= nats_edges(PROVISION, env(container("production", "Job", PROVISION)))
    edges |= {
        ("prometheus", "jaeger", 8888),
        ("prometheus", "alertmanager", 9093),
        ("prometheus", "blackbox", 9115),
        ("blackbox", "nats", 8222),
    }
    return edges


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_network_policies_allow_exactly_the_call_graph(overlay_name: str) -> None:
    policies = [m for m in overlay(overlay_name) if m["kind"] == "NetworkPolicy"]
    allowed = allowed_edges(_pods(overlay_name), policies)
    expected = expected_edges()
    assert allowed - expected == set(), "allowed beyond the call graph"
    assert expected - allowed == set(), "part of the call graph is blocked"


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_network_policies_let_the_provision_job_reach_nats_and_nothing_else(
    overlay_name: str,
) -> None:
    policies = [m for m in overlay(overlay_name) if m["kind"] == "NetworkPolicy"]
    allowed = allowed_edges(_pods(overlay_name), policies)
    assert {edge for edge in allowed if PROVISION in edge[:2]} == {(PROVISION, "nats", 4222)}


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_a_default_deny_policy_selects_every_pod(overlay_name: str) -> None:
    policies = {
        m["metadata"]["name"]: m["spec"]
        for m in overlay(overlay_name)
        if m["kind"] == "NetworkPolicy"
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_the_readme_creates_every_certificate_secret_the_pods_mount_as_the_check_does(
    overlay_name: str,
) -> None:
    page = (REPO_ROOT / "docs" / "deployment.md").read_text()
    loop = re.search(r"^for id in ([\w ]+); do\n(.*?)^done$", page, re.MULTILINE | re.DOTALL)
    assert loop, "docs/deployment.md no longer shows how to create the certificates' Secrets"
    identities, body = loop.group(1).split(), " ".join(loop.group(2).replace("\\\n", " ").split())
    assert sorted(identities) == sorted(certificate_identities(list(overlay(overlay_name))))
    made_by_check = " ".join(from_files(Path("data/certs"), "$id"))
    assert body == f"kubectl -n simplebank create secret generic $id-tls {made_by_check}"
