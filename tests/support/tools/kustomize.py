"""deploy/k8s's overlays as kustomize builds them, with the pinned kubectl, as data."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from tests.support import REPO_ROOT
from tooling.k8s_check.failure import CheckFailed
from tooling.k8s_check.kubectl import render
from tooling.k8s_check.manifests import parse

OVERLAYS = REPO_ROOT / "deploy" / "k8s" / "overlays"
Manifest = dict[str, Any]


@functools.cache
def overlay(name: str) -> tuple[Manifest, ...]:
    try:
        return tuple(parse(render(OVERLAYS / name)))
    except CheckFailed as failure:
        pytest.fail(str(failure), pytrace=False)


def find(name: str, kind: str, object_name: str) -> Manifest:
    [found] = [
        m for m in overlay(name) if m["kind"] == kind and m["metadata"]["name"] == object_name
    ]
    return found


def container(name: str, kind: str, object_name: str) -> dict[str, Any]:
    """The one container of a workload's pod template."""
    only: dict[str, Any]
    [only] = find(name, kind, object_name)["spec"]["template"]["spec"]["containers"]
    return only


def env(spec: dict[str, Any]) -> dict[str, str]:
    """A container's plain variables; one taken from a Secret or field shows as `<from ...>`."""
    found = {}
    for variable in spec.get("env", []):
        source = variable.get("valueFrom")
        found[variable["name"]] = variable["value"] if source is None else f"<from {source}>"
    return found
