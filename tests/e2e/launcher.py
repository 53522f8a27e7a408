"""`make run` for tests: the harness's mesh on free ports, with what a test calls it through."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import grpc
import pytest

from tests.e2e.commands import Ran, grpcurl, grpcurl_as_operator
from tests.support.data.customer import Customer
from tooling.harness import mesh as harness
from tooling.harness.mesh import STOP_TIMEOUT_SECONDS, MeshStartError


@dataclasses.dataclass(frozen=True)
class LaunchedMesh(harness.Mesh):
    """A running `make run`, called as a person calls it."""

    def grpcurl(self, service: str, *args: str, flags: Sequence[str] = ()) -> Ran:
        """grpcurl as a person runs it: plaintext to the gateway, as the operator elsewhere;
        `flags` (such as `-d`) go before the address, `args` after it."""
        command = (*flags, self.address(service), *args)
        if service == "gateway":
            return grpcurl(*command)
        return grpcurl_as_operator(self.data_dir / "certs", *command)

    @contextmanager
    def customer(self, token: str, account_id: str) -> Iterator[Customer]:
        """A client of the gateway calling with `authorization: Bearer <token>`."""
        with grpc.insecure_channel(self.gateway) as channel:
            yield Customer(channel, f"Bearer {token}", account_id)

    def interrupt(self) -> int:
        """Ctrl-C and the exit code; if the launcher does not exit in time, everything is
        killed and the test fails."""
        code = super().interrupt()
        if code is None:
            pytest.fail(f"the launcher did not stop within {STOP_TIMEOUT_SECONDS}s", pytrace=False)
        return code

    def stop(self) -> tuple[int, list[str]]:
        """Ctrl-C unless it has exited already; its exit code and what it left running."""
        code, left = super().stop()
        assert code is not None  # interrupt() failed the test instead
        return code, left


def start_launcher(root: Path, flags: Sequence[str] = ()) -> LaunchedMesh:
    """Start `make run` with tracing on, its data under `root`, and wait until it is ready.

    Like `make run` it inherits this process's environment; only the ports are moved. `flags`
    go to the launcher: with `--cluster`, the ports of every replica and node move too.
    """
    try:
        mesh = harness.start(root, flags)
    except MeshStartError as error:
        pytest.fail(f"make run was not ready: {error}", pytrace=False)
    return LaunchedMesh(**{f.name: getattr(mesh, f.name) for f in dataclasses.fields(mesh)})


@contextmanager
def launched_mesh(root: Path, flags: Sequence[str] = ()) -> Iterator[LaunchedMesh]:
    """`make run` until the block ends, then Ctrl-C, which must stop it with exit code 0."""
    mesh = start_launcher(root, flags)
    try:
        yield mesh
    except BaseException:
        mesh.stop()
        raise
    code, left = mesh.stop()
    assert code == 0, f"make run exited with {code}:\n{mesh.said()}"
    assert not left, f"still running after make run stopped: {left}"
