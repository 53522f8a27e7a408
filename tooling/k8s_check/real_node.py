"""The real node of `make k8s-up` for the check, and what its teardown must not leave behind.

When no cluster is up the check starts one (tooling/k8s_node/up.sh) and stops it afterwards
(down.sh), then fails on anything left: a process naming the node's folders, a mount under
them, its network namespace, a kubepods cgroup, or a rule of the cluster in the host's
iptables. When one is up already (`make k8s-up`), the check uses it and leaves it running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.kubectl import Kubectl
from tooling.k8s_check.tools import REPO_ROOT

SCRIPTS = REPO_ROOT / "tooling" / "k8s_node"
NETNS = "simplebank-k8s"  # tooling/k8s_node/common.sh
NETNS_PATH = Path("/run/netns") / NETNS
RUN = Path(os.environ.get("SIMPLEBANK_K8S_RUN", "/run/simplebank-k8s"))
UP_SECONDS = 900  # the first run builds the project image and imports it
# What only the cluster puts in iptables: kube-proxy's and kube-router's chains, the pod range.
CLUSTER_RULES = ("KUBE-", "10.244.", "cni0")


def state_dir() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Path(os.environ.get("SIMPLEBANK_K8S_STATE", cache / "simplebank-mesh" / "k8s-node"))


def in_netns(*command: str) -> list[str]:
    """COMMAND run in the cluster's network namespace (nsenter: no new mount namespace)."""
    return ["nsenter", f"--net={NETNS_PATH}", "--", *command]


@dataclass(frozen=True)
class Node:
    kubectl: Kubectl
    volumes: Path  # the hostPath folders the node's PersistentVolumes are

    def run(self, *command: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """COMMAND in the namespace, its output captured; the caller judges the exit code."""
        return subprocess.run(
            in_netns(*command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def sealed(self) -> int:
        """The namespace's way out is none: every interface whose other end is in another
        namespace is a pod's, on the pods' bridge. How many interfaces there are."""
        links = self.run("ip", "-o", "link", "show").stdout.splitlines()
        out = [link for link in links if "link-netns" in link and "master cni0" not in link]
        if out or not links:
            raise CheckFailed("the cluster's namespace has a link out of it:\n" + "\n".join(out))
        return len(links)

    def recycle_volumes(self) -> None:
        """Released volumes emptied and made Available again, as a provisioner would give
        fresh ones (the node has no provisioner: up.sh made a pool of hostPath volumes)."""
        for volume in self.kubectl.get("persistentvolumes"):
            if volume.get("status", {}).get("phase") not in ("Released", "Failed"):
                continue
            folder = Path(volume["spec"]["hostPath"]["path"])
            if folder.parent != self.volumes:
                continue
            for entry in folder.iterdir():
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
            name = volume["metadata"]["name"]
            self.kubectl.run(
                "patch", "persistentvolume", name, "--type=json",
                '--patch=[{"op": "remove", "path": "/spec/claimRef"}]',
            )  # fmt: skip


def _script(name: str, log: Path, timeout: float) -> None:
    with log.open("a") as output:
        completed = subprocess.run(
            [str(SCRIPTS / name)],
            stdout=output,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    if completed.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-15:])
        raise CheckFailed(f"tooling/k8s_node/{name} failed (exit {completed.returncode}):\n{tail}")


@contextlib.contextmanager
def real_node(log: Path) -> Iterator[Node]:
    """The node of `make k8s-up`, started (and stopped, leaving nothing) if none is up."""
    if os.geteuid() != 0:
        raise CheckFailed("the real node needs root (network namespace, containerd, kubelet)")
    ours = not NETNS_PATH.exists()
    if ours:
        try:
            _script("up.sh", log, UP_SECONDS)
        except (CheckFailed, subprocess.TimeoutExpired):
            _script("down.sh", log, 180)  # up.sh stops what it started, unless it was killed
            raise
    kubeconfig = state_dir() / "pki" / "admin.kubeconfig"
    try:
        yield Node(Kubectl(kubeconfig, tuple(in_netns())), state_dir() / "volumes")
    finally:
        if ours:
            _script("down.sh", log, 180)
    if ours:
        left = leftovers()
        if left:
            raise CheckFailed("make k8s-down left:\n" + "\n".join(left))


def leftovers() -> list[str]:
    """What of the cluster is still on the machine: one line per process, mount, namespace,
    cgroup or iptables rule."""
    marks = (f"{RUN}/", f"{state_dir()}/")
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if proc.name != str(os.getpid()) and any(mark in cmdline for mark in marks):
            found.append(f"process {proc.name}: {cmdline[:160]}")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point.startswith(marks) or point == str(NETNS_PATH):
            found.append(f"mount {point}")
    if NETNS_PATH.exists():
        found.append(f"network namespace {NETNS}")
    found += [f"cgroup {path}" for path in Path("/sys/fs/cgroup").glob("*/kubepods")]
    for save in ("iptables-save", "ip6tables-save"):
        rules = subprocess.run([save], capture_output=True, text=True, timeout=30, check=False)
        found += [
            f"{save}: {rule}"
            for rule in rules.stdout.splitlines()
            if any(mark in rule for mark in CLUSTER_RULES)
        ]
    return found
