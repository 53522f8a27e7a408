"""Which environment variables a service's code reads, found in its source without running it.

Config code names a variable as a string literal (`env.text("LOG_LEVEL", ...)`), except the
address variables, which mesh/topology.py builds from a service name (`f"{name.upper()}_ADDR"`).
So a variable counts as read when its name is a string literal in the service's package or in
the shared packages, or when it is such a template filled with the service's own name or with
the name of a service its package mentions (an upstream it calls).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from tests.support import REPO_ROOT

SHARED_PACKAGES = ("mesh", "tracing")
_SUFFIX = re.compile(r"_[A-Z0-9_]+")


def variables_read_by(service: str, all_services: Iterable[str]) -> frozenset[str]:
    """Every variable name `service` may read: its package's and the shared packages' literals."""
    shared = [tree for package in SHARED_PACKAGES for tree in _trees(REPO_ROOT / package)]
    own = list(_trees(REPO_ROOT / "services" / service))
    literals = {text for tree in shared + own for text in string_literals(tree)}
    suffixes = {suffix for tree in shared + own for suffix in name_templates(tree)}
    known = set(all_services)
    mentioned = {service} | {
        text for tree in own for text in string_literals(tree) if text in known
    }
    filled = {f"{name.upper()}{suffix}" for name in mentioned for suffix in suffixes}
    return frozenset(literals | filled)


def string_literals(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value


def name_templates(tree: ast.AST) -> Iterator[str]:
    """The `_ADDR` of every f-string shaped like f"{<a name>}_ADDR"."""
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr) and len(node.values) == 2:
            head, tail = node.values
            if (
                isinstance(head, ast.FormattedValue)
                and isinstance(tail, ast.Constant)
                and isinstance(tail.value, str)
                and _SUFFIX.fullmatch(tail.value)
            ):
                yield tail.value


def _trees(package: Path) -> Iterator[ast.Module]:
    for path in sorted(package.rglob("*.py")):
        yield _parse(path)


@functools.cache
def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))
