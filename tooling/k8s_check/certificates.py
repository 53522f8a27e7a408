"""The certificates the pods mount but the overlay does not make, stored as docs/deployment.md says.

Each identity's Secret, <identity>-tls with the keys ca.crt, tls.crt and tls.key (as cert-manager
writes them), comes from outside git. The check issues a throwaway CA and certificates with
tooling/cli/certs.py (what `make certs` runs) and creates each Secret with `kubectl create secret
generic`, docs/deployment.md's own command. A pod that mounts any other Secret the overlay does
not make would never start on a real kubelet, so that fails the check.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tooling.cli import certs
from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.kubectl import Kubectl
from tooling.k8s_check.manifests import Manifest, mounted_secrets

SUFFIX = "-tls"


def certificate_identities(manifests: list[Manifest]) -> list[str]:
    """The identities whose Secrets the pods mount and the overlay leaves to be made."""
    made = {m["metadata"]["name"] for m in manifests if m["kind"] == "Secret"}
    known = {leaf.name for leaf in certs.LEAVES}
    identities = []
    for secret, users in sorted(mounted_secrets(manifests).items()):
        if secret in made:
            continue
        identity = secret.removesuffix(SUFFIX)
        if not secret.endswith(SUFFIX) or identity not in known:
            raise CheckFailed(
                f"{', '.join(sorted(users))} mount Secret {secret}, which the overlay does not "
                f"make and which is no certificate of the mesh (<identity>{SUFFIX}, identities: "
                f"{', '.join(sorted(known))})"
            )
        identities.append(identity)
    return identities


def from_files(certs_dir: Path, identity: str) -> list[str]:
    """kubectl's --from-file arguments for an identity's Secret: `make certs`'s files."""
    return [
        f"--from-file=ca.crt={certs_dir / 'ca.crt'}",
        f"--from-file=tls.crt={certs_dir / f'{identity}.crt'}",
        f"--from-file=tls.key={certs_dir / f'{identity}.key'}",
    ]


def create_certificate_secrets(kubectl: Kubectl, namespace: str, identities: list[str]) -> None:
    """Issue the certificates into a folder removed afterwards, and store each as its Secret."""
    with tempfile.TemporaryDirectory(prefix="k8s-check-certs-") as folder:
        certs_dir = Path(folder)
        certs.ensure(certs_dir)
        for identity in identities:
            name = f"{identity}{SUFFIX}"
            kubectl.run(
                "create",
                "secret",
                "generic",
                name,
                "-n",
                namespace,
                *from_files(certs_dir, identity),
            )
