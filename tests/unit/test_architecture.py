"""The house's rooms stay apart. Read statically, every import of every module keeps to these
lines: tracing/ is a leaf (it imports neither the chassis nor the services); a service imports no
other service; the product (mesh, services, tracing) imports no tooling and no tests; tooling
imports no tests; a domain module imports only the standard library and the error kinds. Then,
in a fresh interpreter: domains load nothing else, and stores and handlers reach neither the
broker, nor tracing, nor the event contract."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

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
        and name not in ("services", "mesh", "mesh.errors", "mesh.errors.kinds", "_virtualenv")
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


PRODUCT = ("mesh", "services", "tracing")
ERROR_KINDS = "mesh.errors.kinds"


def module_name(path: Path) -> str:
    """The dotted name `path` is imported by (a file outside the repository: its own name)."""
    where = path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else Path(path.name)
    parts = where.with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[str]:
    """Every module `path` imports, anywhere in it (a function's own imports too), absolute."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            # `from mesh.errors import kinds` imports the module mesh.errors.kinds
            yield from (f"{base}.{alias.name}" for alias in node.names)


def modules_under(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (REPO_ROOT / top).rglob("*.py"))


def within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def crossings(paths: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    """`file -> module` for each import of `forbidden` packages among `paths`."""
    return [
        f"{module_name(path)} -> {name}"
        for path in paths
        for name in imports_of(path)
        if within(name, *forbidden)
    ]


def test_tracing_is_a_leaf() -> None:
    assert crossings(modules_under("tracing"), ("mesh", "services", "tooling", "tests")) == []


def test_the_product_imports_no_tooling_and_no_tests() -> None:
    assert crossings(modules_under(*PRODUCT), ("tooling", "tests")) == []


def test_tooling_imports_no_tests() -> None:
    assert crossings(modules_under("tooling"), ("tests",)) == []


def test_the_chassis_knows_no_service() -> None:
    assert crossings(modules_under("mesh"), ("services",)) == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = tuple(f"services.{other}" for other in SERVICES if other != service)
    assert crossings(modules_under(f"services/{service}"), others) == []


@pytest.mark.parametrize("module", PURE)
def test_a_domain_module_names_only_the_standard_library_and_the_error_kinds(module: str) -> None:
    path = REPO_ROOT / (module.replace(".", "/") + ".py")
    outside = sorted(
        name
        for name in imports_of(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in ("mesh.errors", ERROR_KINDS)
        and not name.startswith(ERROR_KINDS + ".")
    )
    assert outside == [], f"{module} imports {outside}"


@pytest.mark.parametrize(
    ("source", "forbidden", "expected"),
    [
        ("from mesh.server import serve\n", ("mesh",), ["mesh.server", "mesh.server.serve"]),
        ("def f():\n    import tooling.bench\n", ("tooling",), ["tooling.bench"]),
        ("from tests.support import REPO_ROOT\n", ("tooling",), []),
    ],
)
def test_the_check_sees_an_import_wherever_it_is(
    tmp_path: Path, source: str, forbidden: tuple[str, ...], expected: list[str]
) -> None:
    """The checks above can fail: a crossing import, even inside a function, is found."""
    module = tmp_path / "probe.py"
    module.write_text(source)
    assert crossings([module], forbidden) == [f"probe -> {name}" for name in expected]
