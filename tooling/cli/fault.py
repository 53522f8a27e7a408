"""`make fault`: set or clear a fault on a running mesh's service, through grpcurl.

    make fault SERVICE=accounts METHOD=ReserveHoldings CODE=UNAVAILABLE PERCENT=100
    make fault SERVICE=accounts EVENT=OrderExecuted DELAY=500 PERCENT=50 SEED=7
    make fault SERVICE=accounts LIST=1
    make fault SERVICE=accounts CLEAR=1

The method or event is found among the targets the service lists (ListFaults), so only its
short name is needed. Prints each grpcurl command before running it. Every call presents the
operator's certificate; the gateway has no FaultService (its public port is not mTLS).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `mesh` importable, as `python -m` would
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mesh.config import ConfigError, Env
from mesh.topology import NAMES
from tooling.launcher.paths import TOOLS

FAULTS = "simplebank.ops.v1.FaultService"
# The services with an mTLS port, where FaultService is served (to the operator alone).
INTERNAL = tuple(name for name in NAMES if name != "gateway")


def security_flags(service: str) -> list[str]:
    """The operator's certificate: FaultService is served on mTLS ports only, to the identity
    the authorization policy names (config/authz.json)."""
    tls = Env().mesh_tls("operator")
    if tls is None:
        raise ConfigError("fault injection needs MESH_TLS=on: it is served to the operator only")
    tls.check()  # no certificates yet: say which file is missing
    return ["-cacert", str(tls.ca_file), "-cert", str(tls.cert_file), "-key", str(tls.key_file)]


def grpcurl(flags: list[str], address: str, method: str, request: object) -> str:
    command = [str(TOOLS / "grpcurl"), *flags, "-d", json.dumps(request), address]
    command.append(f"{FAULTS}/{method}")
    print("$ " + shlex.join(["grpcurl", *command[1:]]), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"make fault: {done.stderr.strip()}")
    return done.stdout


def target_named(flags: list[str], address: str, method: str, event: str) -> str:
    targets = json.loads(grpcurl(flags, address, "ListFaults", {})).get("targets", [])
    wanted = f"/{method}" if method else f".{event}"
    found = [t for t in targets if t.endswith(wanted)]
    if len(found) != 1:
        sys.exit(f"make fault: no single target ends with {wanted}; this service has {targets}")
    return str(found[0])


def main() -> None:
    option = os.environ.get
    service = option("SERVICE", "")
    if service == "gateway":
        sys.exit(
            "make fault: the gateway serves no FaultService (its public port takes no operator"
            " certificate); fault the services it calls: orders, accounts or market"
        )
    if service not in INTERNAL:
        sys.exit(f"usage: make fault SERVICE=<{'|'.join(INTERNAL)}> ... (see tooling/cli/fault.py)")
    try:
        address = Env().service_addr(service)
        flags = security_flags(service)
    except (ConfigError, OSError) as error:  # a bad variable, or no certificates yet
        sys.exit(f"make fault: {error}")
    if option("CLEAR"):
        print(grpcurl(flags, address, "ClearFaults", {}), end="")
        return
    if option("LIST") or not (option("METHOD") or option("EVENT")):
        print(grpcurl(flags, address, "ListFaults", {}), end="")
        return
    fault: dict[str, object] = {
        "target": target_named(flags, address, option("METHOD", ""), option("EVENT", "")),
        "error_code": option("CODE", ""),
        "delay_ms": int(option("DELAY", "0")),
        "percent": int(option("PERCENT", "100")),
    }
    if option("SEED"):
        fault["seed"] = int(option("SEED", "0"))
    print(grpcurl(flags, address, "SetFault", {"fault": fault}), end="")


if __name__ == "__main__":
    main()
