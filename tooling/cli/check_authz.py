"""`make lint`'s check of the authorization policy: every identity and method it names exists.

    python tooling/cli/check_authz.py [config/authz.json]

Identities are the five services, `operator` and `probe`; methods are looked up in the contracts
(generated/simplebank/descriptors.binpb) and the health and reflection services every server has.
A typo would otherwise deny a call nobody meant to deny, or allow nothing it was meant to allow.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `mesh` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mesh.reflection import contract_files
from mesh.security.identity import OPERATOR, PROBE
from mesh.security.policy import DEFAULT_POLICY, Policy, PolicyError
from mesh.topology import NAMES

IDENTITIES = (*NAMES, OPERATOR, PROBE)


def known_methods() -> dict[str, set[str]]:
    """Every service the servers can serve, by full name, with its methods."""
    found: dict[str, set[str]] = {}
    for file in contract_files().values():
        for service in file.service:
            full = f"{file.package}.{service.name}" if file.package else service.name
            found[full] = {method.name for method in service.method}
    return found


def problems(policy: Policy, methods: dict[str, set[str]]) -> Iterator[str]:
    for identity, patterns in sorted(policy.allow.items()):
        if identity not in IDENTITIES:
            yield f"unknown identity {identity!r} (known: {', '.join(IDENTITIES)})"
        for pattern in sorted(patterns):
            service, _, method = pattern.partition("/")
            if service not in methods:
                yield f"{identity}: unknown service {service!r} in {pattern!r}"
            elif method != "*" and method not in methods[service]:
                yield f"{identity}: {service} has no method {method!r}"


def main(argv: Sequence[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_POLICY
    try:
        policy = Policy.load(path)
    except PolicyError as error:
        print(error, file=sys.stderr)
        return 1
    found = list(problems(policy, known_methods()))
    for problem in found:
        print(f"{path}: {problem}", file=sys.stderr)
    if not found:
        print(f"{path}: every identity and method exists")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
