"""The in-cluster heartbeat, with the real blackbox exporter: a pod is probed by its IP, which no
certificate names, so each service's mTLS module checks that service's own name."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from mesh.security.policy import DEFAULT_POLICY, Policy
from mesh.security.tls import Listener, MeshTls
from mesh.server import Service
from tests.support import REPO_ROOT
from tests.support.servers.certs import mesh_certs
from tests.support.servers.grpc_servers import FakeFeeServicer, fee_service, local, serving
from tests.support.servers.processes import (
    free_port,
    start_process,
    stop_process,
    wait_for_http,
)

pytestmark = pytest.mark.integration

BLACKBOX = REPO_ROOT / ".tools" / "bin" / "blackbox_exporter"
MODULES = REPO_ROOT / "config" / "prometheus" / "blackbox.yml"
IN_CLUSTER = REPO_ROOT / "deploy" / "k8s" / "base" / "observability" / "prometheus.yml"
INTERNAL = ("orders", "accounts", "fees", "market")


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return mesh_certs(tmp_path_factory.mktemp("heartbeat"))


@pytest.fixture(scope="module")
def blackbox(tmp_path_factory: pytest.TempPathFactory, certs_dir: Path) -> Iterator[str]:
    """The exporter with the project's modules, the probe's files where the test made them."""
    if not BLACKBOX.exists():
        pytest.fail(f"{BLACKBOX} is missing: run `make tools`", pytrace=False)
    folder = tmp_path_factory.mktemp("blackbox")
    config = folder / "blackbox.yml"
    config.write_text(MODULES.read_text().replace(" /certs/", f" {certs_dir}/"))
    address = f"127.0.0.1:{free_port()}"
    log = folder / "blackbox.log"
    args = [str(BLACKBOX), f"--config.file={config}", f"--web.listen-address={address}"]
    process = start_process(args, None, log)
    try:
        wait_for_http(f"http://{address}/-/healthy", timeout=20, process=process)
        yield f"http://{address}"
    finally:
        stop_process(process)


def mtls_fees(certs_dir: Path) -> Service:
    service = fee_service(FakeFeeServicer())
    config = dataclasses.replace(
        service.config,
        tls=MeshTls("fees", certs_dir),
        listener=Listener.MTLS,
        policy=Policy.load(DEFAULT_POLICY),
    )
    return dataclasses.replace(service, config=config)


def probe_success(blackbox: str, module: str, target: str) -> int:
    query = urllib.parse.urlencode({"module": module, "target": target})
    with urllib.request.urlopen(f"{blackbox}/probe?{query}", timeout=10) as response:
        metrics = response.read().decode()
    found = re.search(r"^probe_success (\d)", metrics, re.MULTILINE)
    assert found, metrics
    return int(found.group(1))


async def test_a_service_s_module_accepts_its_certificate_and_another_s_module_does_not(
    blackbox: str, certs_dir: Path
) -> None:
    async with serving(mtls_fees(certs_dir)) as host:
        own = await asyncio.to_thread(probe_success, blackbox, "grpc_health_mtls_fees", local(host))
        other = await asyncio.to_thread(
            probe_success, blackbox, "grpc_health_mtls_orders", local(host)
        )

    assert (own, other) == (1, 0)


def test_the_in_cluster_heartbeat_probes_each_internal_service_with_its_own_module() -> None:
    [job] = [
        j
        for j in yaml.safe_load(IN_CLUSTER.read_text())["scrape_configs"]
        if j["job_name"] == "heartbeat"
    ]
    [rule] = [r for r in job["relabel_configs"] if r.get("target_label") == "__param_module"]
    modules = yaml.safe_load(MODULES.read_text())["modules"]
    for service in INTERNAL:
        assert re.fullmatch(rule["regex"], service)
        module = re.sub(rule["regex"], rule["replacement"].replace("${1}", r"\1"), service)
        assert modules[module]["grpc"]["tls_config"]["server_name"] == f"{service}.simplebank.local"
    assert not re.fullmatch(rule["regex"], "gateway")  # plaintext public port: grpc_health
