"""What the launcher starts for logs: VictoriaLogs on loopback with its data in the data folder and
a small memory share; the services' shipping variable; Jaeger's UI folder only where it exists."""

from __future__ import annotations

from pathlib import Path

from tooling.launcher import parts_logs


def test_victorialogs_listens_where_told_keeps_data_in_the_data_folder_and_little_memory(
    tmp_path: Path,
) -> None:
    command = parts_logs.victorialogs_command(tmp_path, "127.0.0.1:9428")

    assert command[0].endswith(".tools/bin/victoria-logs")
    assert "-httpListenAddr=127.0.0.1:9428" in command
    assert f"-storageDataPath={tmp_path / 'victorialogs'}" in command
    assert "-memory.allowedPercent=5" in command


def test_services_ship_to_the_stores_otlp_logs_path() -> None:
    assert parts_logs.log_shipping_env("127.0.0.1:9428") == {
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://127.0.0.1:9428/insert/opentelemetry/v1/logs"
    }


def test_a_ui_folder_with_index_html_is_passed_to_jaeger(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html></html>")

    assert parts_logs.jaeger_ui_env({"JAEGER_UI_ASSETS_PATH": str(tmp_path)}) == {
        "JAEGER_UI_ASSETS_PATH": str(tmp_path)
    }


def test_a_folder_without_index_html_is_not_passed_on_jaeger_would_panic(tmp_path: Path) -> None:
    env = parts_logs.jaeger_ui_env({"JAEGER_UI_ASSETS_PATH": str(tmp_path / "missing")})

    downloaded = parts_logs.JAEGER_UI_ASSETS / "index.html"
    expected = str(parts_logs.JAEGER_UI_ASSETS.resolve()) if downloaded.is_file() else ""
    assert env == {"JAEGER_UI_ASSETS_PATH": expected}
