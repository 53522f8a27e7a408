"""A throwaway Kubernetes control plane on loopback: etcd, API server, controllers, scheduler, kwok.

kwokctl runs the real binaries (`make tools` builds them from k8s.io/kubernetes and
go.etcd.io/etcd) as processes under a work folder of our own. Its options bind every component
to 127.0.0.1 (by default they would listen on all interfaces); the API server keeps its default
admission plugins (PodSecurity among them) plus NodeRestriction, as kubeadm clusters run it, and
authorizes with Node and RBAC.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.kubectl import Kubectl
from tooling.k8s_check.listening import Listener, listeners_of
from tooling.k8s_check.tools import tool

CLUSTER = "simplebank-check"
KWOKCTL_CONFIG = """\
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  kubeAuthorization: true
  kubeAdmission: true
componentsPatches:
  - name: kube-apiserver
    extraArgs:
      - key: enable-admission-plugins
        value: NodeRestriction
"""


@dataclass(frozen=True)
class ControlPlane:
    workdir: Path
    kubectl: Kubectl

    def pids(self) -> list[int]:
        """The components' processes, from the pid files kwokctl keeps."""
        pid_dir = self.workdir / "clusters" / CLUSTER / "pids"
        return [int(path.read_text().strip()) for path in sorted(pid_dir.glob("*.pid"))]

    def listeners(self) -> list[Listener]:
        return listeners_of(self.pids())


@contextlib.contextmanager
def control_plane(log: Path) -> Iterator[ControlPlane]:
    """Start the control plane in a temporary folder; stop every process and remove the folder."""
    workdir = Path(tempfile.mkdtemp(prefix="k8s-check-"))
    plane = ControlPlane(workdir, Kubectl(workdir / "kubeconfig"))
    try:
        _create(plane, log)
        yield plane
    finally:
        _delete(plane, log)
        shutil.rmtree(workdir, ignore_errors=True)


def _kwokctl(plane: ControlPlane, log: Path, *args: str, timeout: float) -> int:
    # kwokctl calls kubectl by name; the pinned one must come first (the machine's may be older
    # than the version skew allows).
    env = {
        **os.environ,
        "KWOK_WORKDIR": str(plane.workdir),
        "PATH": f"{tool('kubectl').parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    with log.open("a") as output:
        return subprocess.run(
            [str(tool("kwokctl")), *args],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        ).returncode


def _create(plane: ControlPlane, log: Path) -> None:
    config = plane.workdir / "kwokctl.yaml"
    config.write_text(KWOKCTL_CONFIG)
    binaries = {
        "--kube-apiserver-binary": "kube-apiserver",
        "--kube-controller-manager-binary": "kube-controller-manager",
        "--kube-scheduler-binary": "kube-scheduler",
        "--etcd-binary": "etcd",
        "--kwok-controller-binary": "kwok",
    }
    flags = [f"{flag}={tool(name)}" for flag, name in binaries.items()]
    returncode = _kwokctl(
        plane,
        log,
        "create",
        "cluster",
        f"--name={CLUSTER}",
        f"--config={config}",
        f"--kubeconfig={plane.kubectl.kubeconfig}",
        "--wait=180s",
        *flags,
        timeout=300,
    )
    if returncode != 0:
        raise CheckFailed(
            f"kwokctl could not start the control plane (exit {returncode}); see {log}"
        )


def _delete(plane: ControlPlane, log: Path) -> None:
    """kwokctl stops its components; any it leaves behind are killed by pid."""
    pids = plane.pids() if (plane.workdir / "clusters").exists() else []
    _kwokctl(plane, log, "delete", "cluster", f"--name={CLUSTER}", timeout=120)
    deadline = time.monotonic() + 10
    alive = pids
    while alive and time.monotonic() < deadline:
        alive = [pid for pid in alive if _running(pid)]
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    # A zombie still answers kill(0) but holds nothing: it is gone for our purpose.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
