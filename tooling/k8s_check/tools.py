"""Where the check finds its binaries: the pinned ones `make tools` links into .tools/bin."""

from __future__ import annotations

from pathlib import Path

from tooling.k8s_check.failure import CheckFailed

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO_ROOT / ".tools" / "bin"
CONTROL_PLANE = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
    "kwok",
    "kwokctl",
)


def tool(name: str) -> Path:
    """The path of a pinned binary, or a failure that says how to build it."""
    path = TOOLS_BIN / name
    if not path.exists():
        raise CheckFailed(
            f"{path} is missing: run `make tools` (or `tooling/sh/install-tools.sh kubernetes`), "
            "which builds the Kubernetes control plane, etcd and kwok once into a cache"
        )
    return path
