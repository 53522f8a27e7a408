"""The mesh's certificates for a test's folder (tooling/cli/certs.py), and channels as one
identity."""

from __future__ import annotations

from pathlib import Path

import grpc

from mesh.security.tls import ChannelTls, MeshTls
from tooling.cli import certs


def mesh_certs(root: Path) -> Path:
    """root/certs with a CA and every identity's certificate, made once per folder."""
    directory = root / "certs"
    certs.ensure(directory)
    return directory


def channel_as(identity: str, certs_dir: Path, address: str, service: str) -> grpc.Channel:
    """A channel to `service` at `address` presenting `identity`'s certificate from `certs_dir`."""
    tls = ChannelTls(MeshTls(identity, certs_dir), service)
    return grpc.secure_channel(address, tls.credentials(), options=tls.options())
