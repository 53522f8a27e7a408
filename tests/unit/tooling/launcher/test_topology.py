"""`make cluster`'s shape: the launcher's settings list two replicas of every service, three
routed NATS nodes and PostgreSQL; each replica gets its own ports and its service's database."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mesh.config import ConfigError
from mesh.topology import NAMES
from tooling.launcher.observability import scrape_every_replica
from tooling.launcher.ready_file import Endpoint, Ready
from tooling.launcher.settings import Settings, load_settings, nats_command, service_env

DATA = Path("/tmp/cluster-data")


def cluster(**environ: str) -> Settings:
    return load_settings(DATA, True, 30.0, None, environ, cluster=True)


def test_every_service_has_two_replicas_on_ports_of_their_own() -> None:
    settings = cluster()
    names = [replica.name for replica in settings.replicas]
    addrs = [replica.addr for replica in settings.replicas]
    metrics = [replica.metrics_addr for replica in settings.replicas]

    assert names == [f"{service}-{n}" for service in NAMES for n in (1, 2)]
    assert len(set(addrs + metrics)) == 2 * len(names)
    assert settings.service_addrs["gateway"] == "127.0.0.1:50051,127.0.0.1:50061"


def test_three_nats_nodes_route_to_each_other_under_their_child_names() -> None:
    settings = cluster()
    commands = [nats_command(settings, node) for node in settings.nats_nodes]

    assert [node.name for node in settings.nats_nodes] == ["nats-1", "nats-2", "nats-3"]
    for node, command in zip(settings.nats_nodes, commands, strict=True):
        assert command[command.index("-n") + 1] == node.name
        assert command[command.index("--routes") + 1].count("nats://127.0.0.1:") == 3
        assert "-m" in command  # /jsz tells chaos which node leads the stream
    assert settings.services_nats_url.count("tls://") == 3


def test_a_replica_listens_on_its_own_port_and_dials_every_replica_of_the_others() -> None:
    settings = cluster()
    second_orders = settings.replicas_of("orders")[1]
    env = service_env(settings, "orders", second_orders, "postgresql://o:p@127.0.0.1:5433/orders")

    assert env["ORDERS_LISTEN_ADDR"] == "127.0.0.1:50062"
    assert env["ORDERS_METRICS_ADDR"] == "127.0.0.1:9482"
    assert env["ACCOUNTS_ADDR"] == "127.0.0.1:50053,127.0.0.1:50063"
    assert env["DATABASE_URL"].endswith("/orders")
    assert "service.instance.id=orders-2" in env["OTEL_RESOURCE_ATTRIBUTES"]
    assert settings.postgres_addr == "127.0.0.1:5433"


def test_a_metrics_list_that_does_not_match_the_replicas_is_refused() -> None:
    with pytest.raises(ConfigError, match="ORDERS_METRICS_ADDR"):
        cluster(ORDERS_METRICS_ADDR="127.0.0.1:9462")


def test_a_cluster_with_other_than_three_nats_urls_is_refused() -> None:
    with pytest.raises(ConfigError, match="NATS_URL"):
        cluster(NATS_URL="nats://127.0.0.1:4222")


def test_make_run_keeps_one_process_per_service_and_one_nats() -> None:
    settings = load_settings(DATA, True, 30.0, None, {})

    assert [replica.name for replica in settings.replicas] == list(NAMES)
    assert [node.name for node in settings.nats_nodes] == ["nats"]
    assert "--routes" not in nats_command(settings)
    assert settings.postgres_addr is None


def test_prometheus_scrapes_and_probes_every_replica_and_node(tmp_path: Path) -> None:
    settings = cluster()
    path = tmp_path / "prometheus.yml"
    path.write_text(
        yaml.safe_dump(
            {"scrape_configs": [{"job_name": j} for j in ("services", "heartbeat", "nats")]}
        )
    )

    scrape_every_replica(path, settings.replicas, settings.nats_nodes)

    jobs = {job["job_name"]: job for job in yaml.safe_load(path.read_text())["scrape_configs"]}
    replicas = [c["labels"]["replica"] for c in jobs["services"]["static_configs"]]
    assert replicas == [replica.name for replica in settings.replicas]
    probed = [c["targets"][0] for c in jobs["heartbeat"]["static_configs"]]
    assert probed == [replica.addr for replica in settings.replicas]
    assert len(jobs["nats"]["static_configs"]) == 3


def test_the_ready_file_keeps_replicas_nodes_and_postgres_through_a_restart() -> None:
    ready = Ready(
        launcher_pid=1,
        startup_seconds=2.0,
        services={
            "gateway-1": Endpoint("127.0.0.1:1", 10),
            "gateway-2": Endpoint("127.0.0.1:2", 11),
        },
        nats_url="tls://127.0.0.1:3,tls://127.0.0.1:4",
        nats_nodes={"nats-1": Endpoint("tls://127.0.0.1:3", 20), "nats-2": Endpoint("x", 21)},
        jaeger=None,
        data_dir=DATA,
        log_dir=DATA / "logs",
        postgres=Endpoint("127.0.0.1:5", 30),
    )

    again = Ready.from_json(ready.with_pids({"nats-2": 22, "postgres": 31}).to_json())

    assert again.pids == {
        "gateway-1": 10,
        "gateway-2": 11,
        "nats-1": 20,
        "nats-2": 22,
        "postgres": 31,
    }
    assert again.gateway == "127.0.0.1:1"
    assert again.address_of("gateway") == "127.0.0.1:1,127.0.0.1:2"
