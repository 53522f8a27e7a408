"""The flow tests' fixtures: a mesh that quiet tests share, its customers, and the invariant check
that runs after every scenario; every flow test runs on SQLite and again on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.data.customer import Customer
from tests.support.data.settle import settle
from tests.support.servers.mesh import Mesh, MeshOptions, run_mesh
from tests.support.servers.postgres import BACKENDS, stateful_databases


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The services' database: SQLite files, or one PostgreSQL database each."""
    return str(request.param)


@pytest.fixture
def database_urls(backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """Fresh databases for a mesh of one test's own (none on SQLite: files in its folder)."""
    return stateful_databases(backend, request)


@pytest.fixture(scope="session")
def mesh(
    tmp_path_factory: pytest.TempPathFactory, backend: str, request: pytest.FixtureRequest
) -> Iterator[Mesh]:
    """One mesh for every test that leaves it running; GOOG is halted to show a rejection.

    Modules that crash or restart processes define their own `mesh` instead.
    """
    urls = stateful_databases(backend, request)
    options = MeshOptions(halted_symbols="GOOG", database_urls=urls)
    with run_mesh(tmp_path_factory.mktemp("mesh"), options) as running:
        yield running


@pytest.fixture
def alice(mesh: Mesh) -> Customer:
    return mesh.customer("alice-token", "acc-alice")


@pytest.fixture
def bob(mesh: Mesh) -> Customer:
    return mesh.customer("bob-token", "acc-bob")


@pytest.fixture(autouse=True)
def invariants_hold_after_the_scenario(mesh: Mesh) -> Iterator[None]:
    """After every test: all events delivered, services agree, nothing was lost or doubled."""
    yield
    settle(mesh)
