"""compose.yaml is valid Compose and agrees with the code: services, variables, ports, health."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from mesh.topology import BY_NAME, NAMES, SERVICES
from tests.support import REPO_ROOT
from tests.support.tools.compose import (
    app_services,
    compose_services,
    config_file,
    environment,
    memory_limit,
    published_ports,
    run_compose,
)
from tests.support.tools.env_reads import variables_read_by

pytestmark = pytest.mark.integration

# From the contract: who calls whom over gRPC, and who keeps state and takes events.
UPSTREAMS = {"gateway": ("orders", "accounts", "market"), "orders": ("accounts",)}
EVENT_SERVICES = ("orders", "accounts", "fees", "market")
INFRASTRUCTURE = {"nats": 4222, "jaeger": 4317}  # the compose service and the port called
WATCHERS = {"prometheus", "alertmanager", "blackbox"}
CERTS = "certs"  # makes the mesh's certificates into a volume, once
PROVISION = "provision"  # makes the event stream and the services' durables, at each start
JAEGER_CONFIG = REPO_ROOT / "config" / "jaeger.yaml"
GO_RUNTIME_VARIABLES = {"GOMEMLIMIT"}  # read by Jaeger's Go runtime, not by its config
# Where a service itself listens, as opposed to <OTHER>_ADDR: where it calls another.
OWN_ADDRESSES = ("_LISTEN_ADDR", "_METRICS_ADDR", "_HEALTH_ADDR")


def contract_port(name: str) -> int:
    return BY_NAME[name].port


def required_variables(name: str) -> set[str]:
    """What a container must set: the contract's defaults (127.0.0.1, ./data) do not work there."""
    required = {f"{name.upper()}_LISTEN_ADDR", "OTEL_EXPORTER_OTLP_ENDPOINT"}
    required |= {f"{upstream.upper()}_ADDR" for upstream in UPSTREAMS.get(name, ())}
    if name in EVENT_SERVICES:
        required |= {"NATS_URL", "DATA_DIR"}
    if name == "market":
        required.add("MARKET_HALTED_SYMBOLS")  # as `make run` does, so the demo shows a rejection
    return required


def upstream_variables(name: str) -> dict[str, str]:
    """The <OTHER>_ADDR variables compose sets for a service: where it calls other services."""
    return {
        variable: value
        for variable, value in environment(app_services()[name]).items()
        if variable.endswith("_ADDR") and not variable.endswith(OWN_ADDRESSES)
    }


def test_compose_file_is_valid_by_the_compose_specification() -> None:
    result = run_compose("config", "--quiet")
    assert result.returncode == 0, f"docker-compose config rejects compose.yaml:\n{result.stderr}"


def test_compose_runs_the_services_of_make_run() -> None:
    assert set(app_services()) == set(NAMES)


def test_besides_the_services_compose_runs_nats_jaeger_and_the_watchers() -> None:
    assert set(compose_services()) - set(NAMES) == (
        set(INFRASTRUCTURE) | WATCHERS | {CERTS, PROVISION}
    )


@pytest.mark.parametrize("name", NAMES)
def test_each_service_runs_its_own_entry_point(name: str) -> None:
    assert app_services()[name]["command"] == ["python", "-m", f"services.{name}"]
    assert (REPO_ROOT / "services" / name / "__main__.py").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_compose_sets_is_read_by_the_code(name: str) -> None:
    unread = set(environment(app_services()[name])) - variables_read_by(name, NAMES)
    assert not unread, f"no code of services/{name}/, mesh/ or tracing/ reads {sorted(unread)}"


@pytest.mark.parametrize("name", NAMES)
def test_every_variable_a_container_needs_is_set(name: str) -> None:
    missing = required_variables(name) - set(environment(app_services()[name]))
    assert not missing


@pytest.mark.parametrize("name", NAMES)
def test_each_service_listens_on_all_interfaces_at_its_contract_port(name: str) -> None:
    listen_addr = environment(app_services()[name]).get(f"{name.upper()}_LISTEN_ADDR")
    assert listen_addr == f"0.0.0.0:{contract_port(name)}"


@pytest.mark.parametrize("name", NAMES)
def test_each_service_serves_its_metrics_on_all_interfaces_where_prometheus_scrapes(
    name: str,
) -> None:
    service = BY_NAME[name]
    metrics_addr = environment(app_services()[name]).get(service.metrics_variable)
    assert metrics_addr == f"0.0.0.0:{service.metrics_port}"
    scraped = (REPO_ROOT / "config" / "prometheus" / "compose.yml").read_text()
    assert f'"{name}:{service.metrics_port}"' in scraped


@pytest.mark.parametrize("name", NAMES)
def test_each_service_calls_its_upstreams_by_compose_name_at_their_contract_ports(
    name: str,
) -> None:
    expected = {
        f"{upstream.upper()}_ADDR": f"{upstream}:{contract_port(upstream)}"
        for upstream in UPSTREAMS.get(name, ())
    }
    assert upstream_variables(name) == expected


@pytest.mark.parametrize("name", NAMES)
def test_each_service_reaches_nats_and_jaeger_by_compose_name(name: str) -> None:
    env = environment(app_services()[name])
    urls = {"nats": env.get("NATS_URL"), "jaeger": env.get("OTEL_EXPORTER_OTLP_ENDPOINT")}
    for service, url in urls.items():
        if url is not None:
            assert (urlsplit(url).hostname, urlsplit(url).port) == (
                service,
                INFRASTRUCTURE[service],
            )


@pytest.mark.parametrize("name", NAMES)
def test_each_service_serves_plaintext_health_on_all_interfaces_at_its_health_port(
    name: str,
) -> None:
    service = BY_NAME[name]
    health_addr = environment(app_services()[name]).get(service.health_variable)
    assert health_addr == f"0.0.0.0:{service.health_port}"


@pytest.mark.parametrize("name", NAMES)
def test_each_health_check_asks_grpc_health_at_the_health_port_without_a_certificate(
    name: str,
) -> None:
    # The health port is plaintext, as the kubelet's probes need on Kubernetes: no --mtls.
    probe = ["CMD", "python", "-m", "mesh.health.check", f"127.0.0.1:{BY_NAME[name].health_port}"]
    assert app_services()[name]["healthcheck"]["test"] == probe


def test_the_health_check_entry_point_exists() -> None:
    assert (REPO_ROOT / "mesh" / "health" / "check.py").is_file()


@pytest.mark.parametrize("name", NAMES)
def test_each_service_starts_once_what_it_calls_is_healthy(name: str) -> None:
    env = environment(app_services()[name])
    called = {variable.removesuffix("_ADDR").lower() for variable in upstream_variables(name)}
    if "NATS_URL" in env:
        called.add("nats")
    depends_on = app_services()[name].get("depends_on", {})
    gated = {dep for dep, rule in depends_on.items() if rule["condition"] == "service_healthy"}
    assert called <= gated, f"{name} does not wait for {sorted(called - gated)} to be healthy"


def test_every_service_waited_on_has_a_health_check() -> None:
    services = compose_services()
    waited_on = {
        dep
        for spec in services.values()
        for dep, rule in spec.get("depends_on", {}).items()
        if rule["condition"] == "service_healthy"
    }
    unchecked = {dep for dep in waited_on if not services[dep].get("healthcheck", {}).get("test")}
    assert not unchecked


def test_each_database_lives_on_a_named_volume_of_its_own() -> None:
    volumes = {}
    for name, spec in app_services().items():
        data_dir = environment(spec).get("DATA_DIR")
        if data_dir is None:
            continue
        mounts = {mount["target"]: mount for mount in spec.get("volumes", [])}
        assert mounts.get(data_dir, {}).get("type") == "volume", f"{name}: {data_dir} is no volume"
        volumes[name] = mounts[data_dir]["source"]
    assert set(volumes) == set(EVENT_SERVICES)
    assert len(set(volumes.values())) == len(volumes), f"services share a volume: {volumes}"


def test_every_container_has_a_memory_limit() -> None:
    unlimited = {name for name, spec in compose_services().items() if not memory_limit(spec)}
    assert not unlimited


def test_only_the_gateway_and_the_uis_are_published_and_only_on_loopback() -> None:
    published = {
        name: published_ports(spec)
        for name, spec in compose_services().items()
        if published_ports(spec)
    }
    gateway_port = contract_port("gateway")
    assert published == {
        "gateway": {("127.0.0.1", str(gateway_port), gateway_port)},
        "jaeger": {("127.0.0.1", "16686", 16686)},
        "prometheus": {("127.0.0.1", "9090", 9090)},
        "alertmanager": {("127.0.0.1", "9093", 9093)},
    }


def test_prometheus_in_containers_scrapes_what_make_runs_prometheus_scrapes() -> None:
    """config/prometheus/compose.yml is prometheus.yml with container names for addresses."""
    loopback = (REPO_ROOT / "config" / "prometheus" / "prometheus.yml").read_text()
    containers = (REPO_ROOT / "config" / "prometheus" / "compose.yml").read_text()
    back = {f"{s.name}:{s.port}": s.address for s in SERVICES}
    back |= {f"{s.name}:{s.metrics_port}": s.metrics_address for s in SERVICES}
    back |= {
        "blackbox:9115": "127.0.0.1:9115",
        "nats:8222": "127.0.0.1:8222",
        "jaeger:8888": "127.0.0.1:8888",
        "alertmanager:9093": "127.0.0.1:9093",
        "localhost:9090": "127.0.0.1:9090",
        "/etc/prometheus/rules/": "rules/",
    }
    for container, address in back.items():
        containers = containers.replace(container, address)
    assert _without_comments(containers) == _without_comments(loopback)


def _without_comments(text: str) -> list[str]:
    return [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


# Who holds which identity in compose: each service its own, NATS the server's, the blackbox
# exporter the probe's.
IDENTITIES = {
    **{name: name for name in NAMES},
    "nats": "nats",
    "blackbox": "probe",
    PROVISION: "provisioner",
}
CERTS_TARGET = "/certs"
CA_VOLUME = "ca"


def certificate_volumes(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The volumes a container mounts at or under /certs."""
    return [
        mount
        for mount in spec.get("volumes", [])
        if mount["target"] == CERTS_TARGET or mount["target"].startswith(f"{CERTS_TARGET}/")
    ]


@pytest.mark.parametrize("container", sorted(IDENTITIES))
def test_each_container_mounts_only_its_own_identitys_volume_read_only(container: str) -> None:
    """One volume per identity: breaking into one container gives that identity, no other."""
    [mount] = certificate_volumes(compose_services()[container])
    assert mount["type"] == "volume"
    assert mount["source"] == f"certs-{IDENTITIES[container]}"
    assert mount["target"] == CERTS_TARGET
    assert mount.get("read_only") is True


def test_no_two_running_containers_share_a_certificate_volume_and_none_mounts_the_ca() -> None:
    holders: dict[str, list[str]] = {}
    for name, spec in compose_services().items():
        if name == CERTS:
            continue
        for mount in spec.get("volumes", []):
            if mount["type"] == "volume":
                holders.setdefault(mount["source"], []).append(name)
    assert CA_VOLUME not in holders, f"the CA key is mounted into {holders.get(CA_VOLUME)}"
    shared = {
        volume: names
        for volume, names in holders.items()
        if volume.startswith("certs") and len(names) > 1
    }
    assert not shared


def test_the_certs_container_keeps_the_ca_and_hands_each_identity_its_own_volume() -> None:
    """tooling/cli/certs.py --sets fills /certs/<identity> where a folder exists; each such folder
    is a volume, and the image has the folder (owned by its user) for the volume to start so."""
    certs = compose_services()[CERTS]
    command = certs["command"]
    ca_dir = command[command.index("--dir") + 1]
    sets_dir = command[command.index("--sets") + 1]
    mounts = {
        mount["target"]: mount["source"]
        for mount in certs["volumes"]
        if mount["source"] == CA_VOLUME or mount["source"].startswith("certs-")
    }
    expected = {f"{sets_dir}/{identity}": f"certs-{identity}" for identity in IDENTITIES.values()}
    assert mounts == {ca_dir: CA_VOLUME, **expected}
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert all(f" {target} " in dockerfile or f" {target}\n" in dockerfile for target in mounts)
    # Not under a service's /certs: the image's folders there would be copied into its volume.
    assert not [target for target in mounts if target.startswith(f"{CERTS_TARGET}/")]


@pytest.mark.parametrize("name", ["nats", "blackbox"])
def test_nats_and_the_blackbox_exporter_run_as_a_user_other_than_root(name: str) -> None:
    user = str(compose_services()[name].get("user", ""))
    assert user, f"{name} runs as its image's default user (root for nats and the exporter)"
    assert user.split(":")[0] not in {"0", "root"}
    assert compose_services()[name].get("cap_drop") == ["ALL"]


def test_nats_keeps_jetstream_on_a_named_volume() -> None:
    nats = compose_services()["nats"]
    command = nats["command"]
    assert "-js" in command
    store_dir = command[command.index("-sd") + 1]
    assert any(
        mount["type"] == "volume" and mount["target"] == store_dir for mount in nats["volumes"]
    )


def test_jaeger_runs_the_project_config_listening_where_compose_calls_it() -> None:
    jaeger = compose_services()["jaeger"]
    [config] = jaeger["configs"]
    assert config_file(config["source"]) == JAEGER_CONFIG
    assert jaeger["command"] == [f"--config=file:{config['target']}"]
    env = environment(jaeger)
    assert env["JAEGER_OTLP_GRPC_ADDR"] == f"0.0.0.0:{INFRASTRUCTURE['jaeger']}"
    assert env["JAEGER_QUERY_ADDR"] == "0.0.0.0:16686"


def test_every_jaeger_variable_compose_sets_is_read_by_its_config() -> None:
    config_text = JAEGER_CONFIG.read_text()
    env = set(environment(compose_services()["jaeger"])) - GO_RUNTIME_VARIABLES
    unread = {variable for variable in env if f"${{env:{variable}" not in config_text}
    assert not unread


def test_the_event_services_start_once_the_provisioner_has_made_their_durables() -> None:
    """No service may create its durable (NATS cannot limit what one over several subjects
    reads), so the provisioner makes them first, as the one identity allowed to."""
    services = compose_services()
    provision = services[PROVISION]

    assert provision["command"] == ["python", "-m", "mesh.events.provision"]
    assert provision["environment"]["NATS_URL"] == services["orders"]["environment"]["NATS_URL"]
    assert provision["depends_on"]["nats"]["condition"] == "service_healthy"
    for name in EVENT_SERVICES:
        condition = services[name]["depends_on"][PROVISION]["condition"]
        assert condition == "service_completed_successfully", name
