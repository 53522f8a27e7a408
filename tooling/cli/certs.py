"""`make certs`: the mesh's local certificate authority and a short-lived certificate per identity.

    python tooling/cli/certs.py [--dir data/certs] [--force] [--hours 24] [--sets DIR]

Writes ca.crt/ca.key and <name>.crt/<name>.key for each service, the `operator` (people with
grpcurl), the `probe` (health checks), the `provisioner` (makes the durable consumers) and the
NATS server. A service's certificate carries its SPIFFE id spiffe://simplebank.local/<service>
(what the authorization policy names) and the DNS name <service>.simplebank.local (what a
caller's TLS handshake checks). Keys are mode 0600.
Certificates that exist and stay valid for a while longer are kept; --force issues them again.

--sets DIR hands each identity its own file set: for every DIR/<name>/ folder that exists, it
writes there ca.crt, <name>.crt and <name>.key, and nothing else (compose mounts one volume per
identity there, and each service mounts only its own; the CA key stays in --dir).
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if __package__ in (None, ""):  # run as a file: make `mesh` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mesh.security.identity import (
    DNS_SUFFIX,
    NATS_SERVER,
    OPERATOR,
    PROBE,
    PROVISIONER,
    spiffe_id,
)
from mesh.topology import NAMES

ORGANIZATION = "SimpleBank mesh"
CA_DAYS = 365
DEFAULT_HOURS = 24.0
# Issue again when less than this share of a certificate's life is left.
RENEW_FRACTION = 0.5


@dataclass(frozen=True)
class Leaf:
    """One identity's certificate: who it names, and whether it serves, calls, or both."""

    name: str
    server: bool
    client: bool

    @property
    def dns_names(self) -> list[str]:
        names = [f"{self.name}{DNS_SUFFIX}", self.name, "localhost"] if self.server else []
        return names


LEAVES = (
    *(Leaf(name, server=True, client=True) for name in NAMES),
    Leaf(OPERATOR, server=False, client=True),
    Leaf(PROBE, server=False, client=True),
    Leaf(PROVISIONER, server=False, client=True),
    Leaf(NATS_SERVER, server=True, client=False),
)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write(path: Path, data: bytes, *, secret: bool) -> None:
    """Write through a temporary file and a rename, so a reader never sees half a file; a key
    is created 0600 from the start, never readable by others even for a moment."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def create_ca(directory: Path) -> None:
    """A new certificate authority: every certificate it signed before stops being trusted."""
    directory.mkdir(parents=True, exist_ok=True)
    key = _new_key()
    now = _now()
    subject = _name(f"{ORGANIZATION} CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(directory / "ca.key", _key_pem(key), secret=True)
    _write(directory / "ca.crt", cert.public_bytes(serialization.Encoding.PEM), secret=False)


def issue(directory: Path, leaf: Leaf, hours: float = DEFAULT_HOURS) -> None:
    """Sign a fresh key for `leaf` with the CA in `directory`; the key file is replaced first,
    then the certificate, so a server that reloads on the certificate's change reads a pair."""
    ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = _new_key()
    now = _now()
    usages = [
        *([ExtendedKeyUsageOID.SERVER_AUTH] if leaf.server else []),
        *([ExtendedKeyUsageOID.CLIENT_AUTH] if leaf.client else []),
    ]
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(spiffe_id(leaf.name))]
    names += [x509.DNSName(name) for name in leaf.dns_names]
    if leaf.server:
        names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(leaf.name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(min(now + datetime.timedelta(hours=hours), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / f"{leaf.name}.key", _key_pem(key), secret=True)
    _write(
        directory / f"{leaf.name}.crt", cert.public_bytes(serialization.Encoding.PEM), secret=False
    )


def needs_renewal(path: Path, now: datetime.datetime | None = None) -> bool:
    """Missing, unreadable, or past RENEW_FRACTION of its life."""
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return True
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    return (now or _now()) >= start + (end - start) * RENEW_FRACTION


def ensure(directory: Path, hours: float = DEFAULT_HOURS, *, force: bool = False) -> list[str]:
    """Create what is missing or expiring under `directory`; returns the names issued."""
    issued = []
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    if force or needs_renewal(directory / "ca.crt") or not (directory / "ca.key").exists():
        create_ca(directory)
        issued.append("ca")
        force = True  # the old leaves were signed by the old CA
    for leaf in LEAVES:
        if force or needs_renewal(directory / f"{leaf.name}.crt"):
            issue(directory, leaf, hours)
            issued.append(leaf.name)
    return issued


def hand_out(directory: Path, sets: Path) -> list[str]:
    """Copy each identity's key and certificate, and the CA certificate, into sets/<name>/ where
    that folder exists; returns the names handed out. The key is written 0600 as in `directory`."""
    handed = []
    for leaf in LEAVES:
        target = sets / leaf.name
        if not target.is_dir():
            continue
        _write(target / "ca.crt", (directory / "ca.crt").read_bytes(), secret=False)
        # Key first, then certificate, as issue() does: a reloading server reads a pair.
        key = (directory / f"{leaf.name}.key").read_bytes()
        _write(target / f"{leaf.name}.key", key, secret=True)
        cert = (directory / f"{leaf.name}.crt").read_bytes()
        _write(target / f"{leaf.name}.crt", cert, secret=False)
        handed.append(leaf.name)
    return handed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Create the mesh's CA and certificates.")
    default_dir = Path(os.environ.get("DATA_DIR") or "data") / "certs"
    parser.add_argument("--dir", type=Path, default=default_dir, help=f"(default {default_dir})")
    parser.add_argument("--hours", type=float, default=DEFAULT_HOURS, help="leaf validity")
    parser.add_argument("--force", action="store_true", help="issue everything again, CA too")
    parser.add_argument(
        "--sets", type=Path, help="write each identity's own files into SETS/<name>/ if it exists"
    )
    args = parser.parse_args(argv)
    issued = ensure(args.dir, args.hours, force=args.force)
    print(f"certs in {args.dir}: " + (f"issued {', '.join(issued)}" if issued else "all valid"))
    if args.sets is not None:
        handed = hand_out(args.dir, args.sets)
        print(f"file sets in {args.sets}: {', '.join(handed) or 'none (no folder to fill)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
