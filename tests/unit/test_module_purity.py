"""The layers stay apart: domains and their events use only the standard library (and the
chassis' plain error types), and stores and handlers reach neither the broker, nor tracing,
nor the event contract."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SERVICES = ("accounts", "fees", "gateway", "market", "orders")
PURE = ["services.events", *(f"services.{s}.domain" for s in SERVICES)]
EDGE_FREE = [
    f"services.{s}.{m}"
    for s in SERVICES
    for m in ("store", "handlers")
    if (s, m) != ("gateway", "store")
]
FORBIDDEN_IN_EDGE_FREE = ("nats", "opentelemetry", "simplebank.events")


def modules_loaded_by(module: str) -> set[str]:
    """Every module a fresh interpreter holds after importing `module` alone."""
    script = (
        "import importlib, json, sys\n"
        f"before = set(sys.modules)\nimportlib.import_module({module!r})\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(result.stdout))


@pytest.mark.parametrize("module", PURE)
def test_a_domain_module_imports_only_the_standard_library(module: str) -> None:
    own = module.rsplit(".", 1)[0] if module != "services.events" else module
    outside = {
        name
        for name in modules_loaded_by(module)
        if name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith(own)
        and name not in ("services", "mesh", "mesh.errors", "_virtualenv")
    }
    assert outside == set(), f"{module} pulls in {sorted(outside)}"


@pytest.mark.parametrize("module", EDGE_FREE)
def test_stores_and_handlers_import_no_broker_tracing_or_event_contract(module: str) -> None:
    loaded = modules_loaded_by(module)
    forbidden = sorted(
        name
        for name in loaded
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IN_EDGE_FREE)
    )
    assert forbidden == [], f"{module} pulls in {forbidden[:5]}"
