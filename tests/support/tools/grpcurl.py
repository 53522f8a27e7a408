"""The real grpcurl from `make tools`, run against a server the test started."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO_ROOT

GRPCURL_BINARY = REPO_ROOT / ".tools" / "bin" / "grpcurl"
TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def require_grpcurl() -> Path:
    if not GRPCURL_BINARY.exists():
        pytest.fail(f"{GRPCURL_BINARY} is missing: run `make tools` first", pytrace=False)
    return GRPCURL_BINARY


def identity_flags(certs_dir: Path, identity: str) -> tuple[str, ...]:
    """grpcurl's flags to call an internal service as `identity` (the operator, say)."""
    return (
        "-cacert",
        str(certs_dir / "ca.crt"),
        "-cert",
        str(certs_dir / f"{identity}.crt"),
        "-key",
        str(certs_dir / f"{identity}.key"),
    )


async def grpcurl(*args: str, transport: tuple[str, ...] = ("-plaintext",)) -> Result:
    """Run grpcurl with `args` and capture output; plaintext unless `transport` gives the TLS
    flags (identity_flags)."""
    process = await asyncio.create_subprocess_exec(
        str(require_grpcurl()),
        *transport,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), TIMEOUT_SECONDS)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())
