"""`make run` checks its settings before it starts anything, and hands every service the
contract's environment, with addresses from the caller's."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.config import ConfigError
from tooling import run
from tooling.launcher.paths import REPO_ROOT
from tooling.launcher.settings import (
    STOP_MARGIN_SECONDS,
    Settings,
    load_settings,
    nats_command,
    service_env,
)


def settings(tracing: bool = True, **environ: str) -> Settings:
    return settings_from(environ, tracing)


def settings_from(environ: dict[str, str], tracing: bool = True) -> Settings:
    return load_settings(Path("/tmp/mesh-data"), tracing, 30.0, None, environ)


def test_each_service_gets_its_own_name_and_the_shared_data_folder() -> None:
    env = service_env(settings(), "orders")

    assert env["OTEL_SERVICE_NAME"] == "orders"
    assert env["DATA_DIR"] == "/tmp/mesh-data"
    assert env["PYTHONPATH"].split(":")[:2] == [str(REPO_ROOT), str(REPO_ROOT / "generated")]


def test_every_service_learns_every_address_including_overridden_ones() -> None:
    env = service_env(settings(ORDERS_ADDR="127.0.0.1:6000"), "gateway")

    assert env["ORDERS_ADDR"] == "127.0.0.1:6000"
    assert env["MARKET_ADDR"] == "127.0.0.1:50055"
    assert env["NATS_URL"] == "tls://127.0.0.1:4222"


def test_services_reach_nats_over_tls_with_the_certificates_under_the_data_folder() -> None:
    env = service_env(settings(), "fees")

    assert env["NATS_URL"] == "tls://127.0.0.1:4222"
    assert env["MESH_CERTS_DIR"] == "/tmp/mesh-data/certs"
    assert env["MESH_TLS"] == "on"
    assert nats_command(settings())[-2:] == ["-c", "/tmp/mesh-data/nats.json"]


def test_without_mesh_tls_nats_and_the_services_speak_plaintext() -> None:
    plain = settings(MESH_TLS="off", MESH_TLS_OFF_FOR_BENCHMARK="yes")

    assert service_env(plain, "fees")["NATS_URL"] == "nats://127.0.0.1:4222"
    assert service_env(plain, "fees")["MESH_TLS"] == "off"
    assert service_env(plain, "fees")["MESH_TLS_OFF_FOR_BENCHMARK"] == "yes"
    assert "-c" not in nats_command(plain)


def test_mesh_tls_off_alone_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^MESH_TLS=off drops mTLS and authorization: refused"):
        settings(MESH_TLS="off")


def test_fault_injection_is_on_for_the_internal_services_only_and_only_with_mesh_tls() -> None:
    plain = settings(MESH_TLS="off", MESH_TLS_OFF_FOR_BENCHMARK="yes")

    assert service_env(settings(), "accounts")["OPS_FAULTS_ENABLED"] == "true"
    assert "OPS_FAULTS_ENABLED" not in service_env(settings(), "gateway")
    assert "OPS_FAULTS_ENABLED" not in service_env(plain, "accounts")


def test_make_run_is_the_demo_its_gateway_takes_the_demo_tokens() -> None:
    assert service_env(settings(), "gateway")["GATEWAY_DEMO_TOKENS"] == "allow"


def test_market_halts_goog_unless_the_caller_says_otherwise() -> None:
    assert service_env(settings(), "market")["MARKET_HALTED_SYMBOLS"] == "GOOG"
    assert service_env(settings(MARKET_HALTED_SYMBOLS=""), "market")["MARKET_HALTED_SYMBOLS"] == ""


def test_spans_go_to_the_jaeger_the_launcher_starts() -> None:
    env = service_env(settings(JAEGER_OTLP_GRPC_ADDR="127.0.0.1:7317"), "fees")

    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:7317"
    assert "OTEL_SDK_DISABLED" not in env


def test_an_explicit_otlp_endpoint_wins() -> None:
    env = service_env(settings(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4317"), "fees")

    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4317"


def test_without_tracing_the_sdk_is_disabled() -> None:
    assert service_env(settings(tracing=False), "fees")["OTEL_SDK_DISABLED"] == "true"


def test_nats_listens_where_nats_url_points_with_jetstream_under_the_data_folder() -> None:
    args = nats_command(settings(NATS_URL="nats://127.0.0.1:14222"))

    assert args[1:8] == ["-js", "-a", "127.0.0.1", "-p", "14222", "-sd", "/tmp/mesh-data/nats"]


def test_nats_serves_its_monitoring_port_for_the_heartbeat_only_with_observability() -> None:
    watched = nats_command(settings(NATS_MONITOR_ADDR="127.0.0.1:18222"))
    unwatched = nats_command(
        load_settings(Path("/tmp/mesh-data"), True, 30.0, None, {}, observability=False)
    )

    assert watched[8:10] == ["-m", "18222"]
    assert "-m" not in unwatched


def test_the_services_get_their_grace_and_the_launcher_waits_a_margin_beyond_it() -> None:
    assert settings(SHUTDOWN_GRACE_SECONDS="2.5").stop_timeout == 2.5 + STOP_MARGIN_SECONDS
    assert settings().stop_timeout == 5.0 + STOP_MARGIN_SECONDS


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SHUTDOWN_GRACE_SECONDS", "abc", "SHUTDOWN_GRACE_SECONDS='abc': expected a number"),
        ("SHUTDOWN_GRACE_SECONDS", "-1", "SHUTDOWN_GRACE_SECONDS=-1.0: must be at least 0"),
        ("ORDERS_ADDR", "orders", "ORDERS_ADDR='orders': expected host:port"),
        (
            "NATS_URL",
            "127.0.0.1:4222",
            "NATS_URL='127.0.0.1:4222': expected nats://host:port[,nats://host:port...]",
        ),
        ("JAEGER_QUERY_ADDR", "16686", "JAEGER_QUERY_ADDR='16686': expected host:port"),
        ("MESH_TLS", "maybe", "MESH_TLS='maybe': expected on, or off (benchmark only)"),
        ("GATEWAY_TLS", "yes", "GATEWAY_TLS='yes': expected true or false"),
    ],
)
def test_a_setting_the_mesh_cannot_use_is_refused_naming_the_variable(
    variable: str, value: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from({variable: value})

    assert str(refused.value).startswith(expected)


def test_make_run_with_a_bad_setting_says_so_in_one_line_and_exits_2_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "abc")

    code = run.main(["--data-dir", str(tmp_path / "data")])

    said = capsys.readouterr()
    assert code == 2
    assert said.out == ""
    assert said.err == (
        "make run: configuration error: SHUTDOWN_GRACE_SECONDS='abc': expected a number, e.g. 5.0\n"
    )
    assert not (tmp_path / "data").exists()
