"""The mesh the quiet end-to-end tests share: `make run` on free ports, tracing into a real Jaeger.

Modules that need a fresh mesh, or that break one (stop Jaeger, press Ctrl-C), start their own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.launcher import LaunchedMesh, launched_mesh


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """Started once; at the end Ctrl-C must stop it with exit code 0 and nothing left running."""
    with launched_mesh(tmp_path_factory.mktemp("mesh")) as running:
        yield running
