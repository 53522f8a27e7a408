"""The real gateway process outside the demo: it stops with one line (exit 2, as every
configuration error) when its tokens are unset, the demo's, a placeholder or short, or when
MESH_TLS=off comes without the benchmark's second setting; given a certificate of its own it
serves its public port over TLS."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.support import REPO_ROOT
from tests.support.servers.certs import mesh_certs
from tests.support.servers.processes import (
    free_port,
    log_tail,
    start_process,
    stop_process,
    wait_for_port,
)
from tooling.cli import certs

pytestmark = pytest.mark.integration

START_TIMEOUT_SECONDS = 30.0
REAL_TOKENS = f"{'c' * 40}=carol:acc-carol"


def gateway_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """A deployment's environment: no GATEWAY_DEMO_TOKENS, nothing from the caller's."""
    return {
        "PYTHONPATH": f"{REPO_ROOT}:{REPO_ROOT / 'generated'}",
        "GATEWAY_ADDR": f"127.0.0.1:{free_port()}",
        "GATEWAY_METRICS_ADDR": f"127.0.0.1:{free_port()}",
        "MESH_CERTS_DIR": str(mesh_certs(tmp_path)),
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_SDK_DISABLED": "true",
        **env,
    }


def run_gateway_until_it_exits(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.gateway"],
        env=gateway_env(tmp_path, **env),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_SECONDS,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GATEWAY_TOKENS is not set: give token=customer:account,..."),
        (
            {"GATEWAY_TOKENS": "alice-token=alice:acc-alice,bob-token=bob:acc-bob"},
            "GATEWAY_TOKENS: the token of customer alice is a demo or placeholder token",
        ),
        (
            {"GATEWAY_TOKENS": "replace-me=nobody:acc-nobody"},
            "GATEWAY_TOKENS: the token of customer nobody is a demo or placeholder token",
        ),
        (
            {"GATEWAY_TOKENS": "short-but-secret=carol:acc-carol"},
            "GATEWAY_TOKENS: the token of customer carol is shorter than 32 characters",
        ),
        (
            {"GATEWAY_TOKENS": REAL_TOKENS, "MESH_TLS": "off"},
            "MESH_TLS=off drops mTLS and authorization: refused unless"
            " MESH_TLS_OFF_FOR_BENCHMARK=yes",
        ),
        (
            {"GATEWAY_TOKENS": REAL_TOKENS},
            "the public port would take tokens in plaintext: give GATEWAY_TLS_CERT and"
            " GATEWAY_TLS_KEY, or GATEWAY_PUBLIC_TLS=terminated-in-front",
        ),
        (
            {"GATEWAY_TOKENS": REAL_TOKENS, "OPS_FAULTS_ENABLED": "true"},
            "OPS_FAULTS_ENABLED=true needs an mTLS port with the authorization policy",
        ),
    ],
)
def test_outside_the_demo_the_gateway_refuses_to_start_with_one_line(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    ran = run_gateway_until_it_exits(tmp_path, **env)

    assert ran.returncode == 2, ran.stderr
    assert ran.stderr.startswith(f"gateway: configuration error: {message}"), ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "alice-token" not in ran.stderr
    assert "short-but-secret" not in ran.stderr


def public_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1 from a CA that is not the mesh's: (ca, cert, key)."""
    certs.create_ca(directory)
    certs.issue(directory, certs.Leaf("public", server=True, client=False))
    return directory / "ca.crt", directory / "public.crt", directory / "public.key"


def test_given_a_certificate_of_its_own_the_public_port_speaks_tls(tmp_path: Path) -> None:
    ca, cert, key = public_certificate(tmp_path / "public")
    env = gateway_env(
        tmp_path,
        GATEWAY_TOKENS=REAL_TOKENS,
        GATEWAY_TLS_CERT=str(cert),
        GATEWAY_TLS_KEY=str(key),
    )
    address = env["GATEWAY_ADDR"]
    log = tmp_path / "gateway.log"
    process = start_process([sys.executable, "-m", "services.gateway"], env, log)
    try:
        host, _, port = address.rpartition(":")
        wait_for_port(host, int(port), START_TIMEOUT_SECONDS, process)
        credentials = grpc.ssl_channel_credentials(ca.read_bytes())  # no client certificate
        with grpc.secure_channel(address, credentials) as channel:
            checked = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=10, wait_for_ready=True
            )
        with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as plaintext:
            health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    except AssertionError:
        pytest.fail(log_tail(log), pytrace=False)
    finally:
        stop_process(process)

    assert checked.status == health_pb2.HealthCheckResponse.SERVING
    assert plaintext.value.code() is grpc.StatusCode.UNAVAILABLE
