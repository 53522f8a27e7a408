"""The mesh the quiet end-to-end tests share: `make run` on free ports, tracing into a real Jaeger.

Modules that need a fresh mesh, or that break one (stop Jaeger, press Ctrl-C), start their own.
Whatever they start, every line every service writes must follow the log schema (checked last).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mesh.topology import NAMES
from tests.e2e.launcher import LaunchedMesh, launched_mesh
from tests.support.data.log_lines import file_problems


@pytest.fixture(scope="session")
def mesh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LaunchedMesh]:
    """Started once; at the end Ctrl-C must stop it with exit code 0 and nothing left running."""
    with launched_mesh(tmp_path_factory.mktemp("mesh")) as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def every_log_line_follows_the_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the last test, when every mesh has stopped: each line of each service's log file
    that a `make run` started by these tests wrote (in its data/logs/, under this session's
    temporary folder) is parsed against mesh/logs.py's schema; one bad line fails the session.
    """
    yield
    base = tmp_path_factory.getbasetemp()
    logs = [(path, n) for n in NAMES for path in sorted(base.glob(f"**/data/logs/{n}.log"))]
    problems = [problem for path, name in logs for problem in file_problems(path, name)]
    assert not problems, f"{len(problems)} log lines break the schema:\n" + "\n".join(problems[:20])
