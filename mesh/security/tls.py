"""Mesh TLS: a process's certificate, key and the mesh CA as files, and credentials made from them.

The server's credentials follow the files: grpc asks for the certificate on every handshake, and
a certificate whose file changed is read again, so rotation needs no restart. A channel reads
the files when it is made; it checks that the server is the service it meant to call through the
DNS name <service>.simplebank.local, which only that service's certificate carries.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import grpc

from mesh.security.identity import server_name

log = logging.getLogger(__name__)


class Listener(Enum):
    """How a server's port speaks."""

    PLAINTEXT = "plaintext"
    TLS = "tls"  # the gateway's public port with GATEWAY_TLS=true: customers have no certificate
    MTLS = "mtls"  # every internal service: only callers with a certificate of the mesh CA


@dataclass(frozen=True)
class MeshTls:
    """Where one identity's certificate, key and the CA that signed the mesh are."""

    identity: str
    certs_dir: Path

    @property
    def cert_file(self) -> Path:
        return self.certs_dir / f"{self.identity}.crt"

    @property
    def key_file(self) -> Path:
        return self.certs_dir / f"{self.identity}.key"

    @property
    def ca_file(self) -> Path:
        return self.certs_dir / "ca.crt"

    def read(self) -> tuple[bytes, bytes, bytes]:
        """(key, certificate, CA) as PEM; raises OSError naming the file that cannot be read."""
        found = []
        for path in (self.key_file, self.cert_file, self.ca_file):
            try:
                found.append(path.read_bytes())
            except OSError as error:
                raise OSError(
                    f"cannot read {path}: {error.strerror or error} (run `make certs`)"
                ) from None
        key, cert, ca = found
        return key, cert, ca

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.cert_file, self.key_file, self.ca_file)

    def check(self) -> None:
        """Fail at start, naming the file, rather than at the first handshake."""
        self.read()
        check_pair(self.cert_file, self.key_file)

    def server_credentials(self, *, require_client_auth: bool) -> grpc.ServerCredentials:
        files = _ReloadingFiles(self)
        return grpc.dynamic_ssl_server_credentials(
            files.current, files.fetch, require_client_authentication=require_client_auth
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A client context for NATS: our certificate, and only the mesh CA trusted."""
        context = ssl.create_default_context(cafile=self.ca_file)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


@dataclass(frozen=True)
class ChannelTls:
    """How a channel to one service presents us and checks that it reached that service."""

    files: MeshTls
    service: str

    def credentials(self) -> grpc.ChannelCredentials:
        key, cert, ca = self.files.read()
        return grpc.ssl_channel_credentials(ca, key, cert)

    def options(self) -> list[tuple[str, Any]]:
        # The address may be 127.0.0.1 or a compose host name; the certificate is checked for
        # the service's own name, which the CA gives to that service alone.
        return [("grpc.ssl_target_name_override", server_name(self.service))]


@dataclass(frozen=True)
class PublicTls:
    """The certificate the gateway's public port shows customers (GATEWAY_TLS_CERT and
    GATEWAY_TLS_KEY): one a public CA or the operator's ingress CA signed, not the mesh's.
    Customers present no certificate; a file that changes is read again, as the mesh's are."""

    cert_file: Path
    key_file: Path

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.cert_file, self.key_file)

    def read(self) -> tuple[bytes, bytes, None]:
        """(key, certificate, no CA) as PEM; OSError naming the file that cannot be read."""
        found = []
        for path in (self.key_file, self.cert_file):
            try:
                found.append(path.read_bytes())
            except OSError as error:
                raise OSError(f"cannot read {path}: {error.strerror or error}") from None
        key, cert = found
        return key, cert, None

    def check(self) -> None:
        """Fail at start, naming the file, rather than at the first handshake."""
        self.read()
        check_pair(self.cert_file, self.key_file)

    def server_credentials(self, *, require_client_auth: bool) -> grpc.ServerCredentials:
        files = _ReloadingFiles(self)
        return grpc.dynamic_ssl_server_credentials(
            files.current, files.fetch, require_client_authentication=False
        )


def check_pair(cert_file: Path, key_file: Path) -> None:
    """OSError naming both files unless the certificate and the key belong together."""
    try:
        ssl.create_default_context().load_cert_chain(cert_file, key_file)
    except ssl.SSLError as error:
        raise OSError(f"{cert_file} and {key_file} do not make a pair: {error}") from None


def add_port(
    server: grpc.aio.Server, address: str, tls: MeshTls | PublicTls | None, listener: Listener
) -> int:
    """Bind `address` the way `listener` says; returns the port."""
    if listener is Listener.PLAINTEXT:
        return server.add_insecure_port(address)
    if tls is None:
        raise ValueError(f"a {listener.value} listener needs a certificate")
    if listener is Listener.MTLS and not isinstance(tls, MeshTls):
        raise ValueError("an mTLS listener needs the mesh's certificate")
    credentials = tls.server_credentials(require_client_auth=listener is Listener.MTLS)
    return server.add_secure_port(address, credentials)


class _ReloadingFiles:
    """grpc's certificate fetcher: the configuration again when a file changed, else None."""

    def __init__(self, tls: MeshTls | PublicTls) -> None:
        self._tls = tls
        self._seen = self._stamp()
        self.current = self._configuration()

    def _stamp(self) -> tuple[tuple[int, int, int], ...]:
        stats = [path.stat() for path in self._tls.files]
        return tuple((s.st_ino, s.st_mtime_ns, s.st_size) for s in stats)

    def _configuration(self) -> Any:
        key, cert, ca = self._tls.read()
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> Any:
        """Called by grpc before each handshake; it must not raise, so a failure keeps the last
        good certificate and says why (a key replaced before its certificate, say)."""
        try:
            stamp = self._stamp()
            if stamp == self._seen:
                return None
            self._tls.check()
            self.current = self._configuration()
        except OSError as error:
            log.warning("certificate files unusable, keeping the loaded ones: %s", error)
            return None
        self._seen = stamp
        log.info("certificate reloaded", extra={"cert_file": str(self._tls.cert_file)})
        return self.current
