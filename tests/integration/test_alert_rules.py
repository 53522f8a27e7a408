"""config/prometheus, config/alertmanager: pass the real promtool and amtool; rules proven."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / ".tools" / "bin"
PROMETHEUS = REPO / "config" / "prometheus"
ALERTMANAGER = REPO / "config" / "alertmanager"
ALERTS = (
    "ServiceDown",
    "ReplicaDown",
    "SLOAvailabilityBurn",
    "SLOLatencyBurn",
    "EventsDeadLettered",
    "ConsumerLagGrowing",
    "OutboxBacklog",
)

pytestmark = pytest.mark.integration


def run_tool(name: str, *args: str | Path) -> str:
    """Run a tool from .tools/bin in the repo; fail the test with its output unless it succeeds."""
    tool = TOOLS / name
    if not tool.exists():
        pytest.fail(f"{name} missing from {TOOLS}: run `make tools` (it installs it)")
    done = subprocess.run(
        [str(tool), *map(str, args)], cwd=REPO, capture_output=True, text=True, timeout=100
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{name} {' '.join(map(str, args))} failed:\n{output}"
    return output


def rule_files() -> list[Path]:
    return sorted((PROMETHEUS / "rules").glob("*.yml"))


def test_prometheus_config_and_the_rules_it_loads_are_valid() -> None:
    output = run_tool("promtool", "check", "config", PROMETHEUS / "prometheus.yml")

    assert f"SUCCESS: {len(rule_files())} rule files found" in output


def test_every_rule_file_is_valid() -> None:
    run_tool("promtool", "check", "rules", *rule_files())


def test_promtool_unit_tests_prove_each_alert() -> None:
    tests = sorted((PROMETHEUS / "tests").glob("*.yml"))
    assert tests, "no promtool tests in config/prometheus/tests"

    output = run_tool("promtool", "test", "rules", *tests)

    assert "FAILED" not in output
    proven = "\n".join(path.read_text() for path in tests)
    for alert in ALERTS:
        assert re.search(rf"alertname: {alert}\n\s+exp_alerts:\n", proven), (
            f"no promtool test expects {alert} to fire"
        )
        assert re.search(rf"alertname: {alert}\n\s+exp_alerts: \[\]", proven), (
            f"no promtool test expects {alert} to stay quiet"
        )


def test_the_alerts_the_checks_rely_on_are_all_defined() -> None:
    defined = re.findall(r"- alert: (\w+)", "\n".join(p.read_text() for p in rule_files()))

    assert set(defined) == set(ALERTS)


def test_alertmanager_config_is_valid() -> None:
    run_tool("amtool", "check-config", ALERTMANAGER / "alertmanager.yml")


@pytest.mark.parametrize(
    "config",
    [
        PROMETHEUS / "prometheus.yml",
        PROMETHEUS / "blackbox.yml",
        ALERTMANAGER / "alertmanager.yml",
    ],
    ids=lambda path: path.name,
)
def test_every_address_in_the_config_is_loopback(config: Path) -> None:
    text = re.sub(r"#.*", "", config.read_text())  # comments may say what is avoided

    addresses = re.findall(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", text)
    assert set(addresses) <= {"127.0.0.1"}
    assert "localhost" not in text
    assert "0.0.0.0" not in text
