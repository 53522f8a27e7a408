"""Certificates forged for the edge cases of identity, against a real mTLS listener with the
mesh's policy: none of them gets the identity it claims.

The listener is a fee service (tests/support/servers/grpc_servers.py) on mTLS with
config/authz.json; health Check is allowed to the probe and the operator only. Each forged
certificate claims the probe; the genuine probe certificate is the control.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
from collections.abc import Sequence
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mesh.security.identity import PROBE, spiffe_id
from mesh.security.policy import DEFAULT_POLICY, Policy
from mesh.security.tls import ChannelTls, Listener, MeshTls
from mesh.server import Service
from tests.support.servers.grpc_servers import FakeFeeServicer, fee_service, local, serving
from tooling.cli import certs

pytestmark = pytest.mark.integration

SERVING = health_pb2.HealthCheckResponse.SERVING
ORGANIZATION = "SimpleBank mesh"


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    certs.ensure(folder)
    return folder


def secured(certs_dir: Path) -> Service:
    service = fee_service(FakeFeeServicer())
    config = dataclasses.replace(
        service.config,
        tls=MeshTls("fees", certs_dir),
        listener=Listener.MTLS,
        policy=Policy.load(DEFAULT_POLICY),
    )
    return dataclasses.replace(service, config=config)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANIZATION),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _load_ca(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((folder / "ca.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate((folder / "ca.crt").read_bytes())


def forge(
    folder: Path,
    real_certs: Path,
    uris: Sequence[str],
    signer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate],
) -> Path:
    """A client certificate for CN=probe with these URI SANs, signed by `signer`, written as
    folder/probe.{crt,key} beside the mesh's real ca.crt (so the client trusts the real server
    and only the server's checks decide)."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = signer
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri) for uri in uris]
    names.append(x509.DNSName("probe.simplebank.local"))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(PROBE))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "probe.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (folder / "probe.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    shutil.copyfile(real_certs / "ca.crt", folder / "ca.crt")
    return folder


async def check_health(certs_dir: Path, client_dir: Path) -> grpc.StatusCode | int:
    """Health Check as the probe files in `client_dir`: the status served, or the refusal."""
    tls = ChannelTls(MeshTls(PROBE, client_dir), "fees")
    async with (
        serving(secured(certs_dir)) as host,
        grpc.aio.secure_channel(local(host), tls.credentials(), options=tls.options()) as channel,
    ):
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=5
            )
        except grpc.aio.AioRpcError as error:
            return error.code()
    return int(answer.status)


async def test_the_genuine_probe_certificate_is_served(certs_dir: Path) -> None:
    assert await check_health(certs_dir, certs_dir) == SERVING


async def test_the_mesh_cas_certificate_with_the_right_id_is_served(
    certs_dir: Path, tmp_path: Path
) -> None:
    """The forging helper itself makes a certificate the listener takes, when nothing is off."""
    client = forge(tmp_path, certs_dir, [spiffe_id(PROBE)], _load_ca(certs_dir))
    assert await check_health(certs_dir, client) == SERVING


@pytest.mark.parametrize(
    "uris",
    [
        pytest.param([], id="no-spiffe-id"),
        pytest.param([spiffe_id(PROBE), spiffe_id("operator")], id="two-spiffe-ids"),
        pytest.param([spiffe_id(PROBE), spiffe_id(PROBE)], id="the-same-id-twice"),
        pytest.param(["spiffe://evil.example/probe"], id="another-trust-domain"),
        pytest.param(["spiffe://simplebank.local.evil.example/probe"], id="a-lookalike-domain"),
        pytest.param(["spiffe://SIMPLEBANK.LOCAL/probe"], id="the-domain-in-capitals"),
        pytest.param([spiffe_id("probe/extra")], id="a-longer-path"),
        pytest.param(["spiffe://simplebank.local/"], id="an-empty-name"),
        pytest.param(["https://simplebank.local/probe"], id="not-a-spiffe-uri"),
    ],
)
async def test_a_mesh_signed_certificate_without_one_id_of_our_trust_domain_is_denied(
    certs_dir: Path, tmp_path: Path, uris: list[str]
) -> None:
    """Signed by the mesh's own CA, CN=probe: the handshake passes, the policy sees anonymous."""
    client = forge(tmp_path, certs_dir, uris, _load_ca(certs_dir))
    assert await check_health(certs_dir, client) is grpc.StatusCode.PERMISSION_DENIED


async def test_a_certificate_of_a_rogue_ca_with_the_same_name_is_refused(
    certs_dir: Path, tmp_path: Path
) -> None:
    """A CA of its own, named like the mesh's, signs a perfect probe certificate."""
    rogue = tmp_path / "rogue-ca"
    certs.create_ca(rogue)
    client = forge(tmp_path / "client", certs_dir, [spiffe_id(PROBE)], _load_ca(rogue))
    assert await check_health(certs_dir, client) is grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_signed_by_a_mesh_leaf_is_refused(
    certs_dir: Path, tmp_path: Path
) -> None:
    """The operator's own certificate is no CA (BasicConstraints ca=false): what it signs is
    not trusted, whatever id it carries."""
    key = serialization.load_pem_private_key((certs_dir / "operator.key").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    leaf = x509.load_pem_x509_certificate((certs_dir / "operator.crt").read_bytes())
    client = forge(tmp_path, certs_dir, [spiffe_id(PROBE)], (key, leaf))
    assert await check_health(certs_dir, client) is grpc.StatusCode.UNAVAILABLE
