"""Configuration from the environment, read once into frozen dataclasses, failing fast."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from mesh.faults.settings import ENABLED_VARIABLE, FAULTS_VARIABLE, FaultSettings
from mesh.security.policy import DEFAULT_POLICY, Policy, PolicyError
from mesh.security.tls import ChannelTls, Listener, MeshTls, PublicTls
from mesh.topology import BY_NAME

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_SHUTDOWN_GRACE_SECONDS = 5.0
# The second, explicit setting MESH_TLS=off needs (Env.mesh_tls_on).
TLS_OFF_VARIABLE = "MESH_TLS_OFF_FOR_BENCHMARK"

N = TypeVar("N", int, float)


class ConfigError(Exception):
    """A variable is set to something the service cannot use; the message says how to fix it."""


class Env:
    """Typed reads of environment variables, each with a default and a clear error."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self._environ = os.environ if environ is None else environ

    def is_set(self, name: str) -> bool:
        return name in self._environ

    def text(self, name: str, default: str) -> str:
        return self._environ.get(name, default).strip() or default

    def integer(self, name: str, default: int, *, minimum: int = 0) -> int:
        return self._parsed(name, default, minimum, int, "a whole number")

    def number(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        return self._parsed(name, default, minimum, float, "a number")

    def _parsed(self, name: str, default: N, minimum: N, kind: Callable[[str], N], what: str) -> N:
        raw = self.text(name, str(default))
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{name}={raw!r}: expected {what}, e.g. {default}") from None
        if value < minimum:
            raise ConfigError(f"{name}={value}: must be at least {minimum}")
        return value

    def addr(self, name: str, default: str) -> str:
        return self._checked_addr(name, self.text(name, default), default)

    @staticmethod
    def _checked_addr(name: str, raw: str, default: str) -> str:
        host, sep, port = raw.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ConfigError(f"{name}={raw!r}: expected host:port, e.g. {default}")
        return raw

    def service_addr(self, service: str) -> str:
        """Where `service` is called: <SERVICE>_ADDR, one host:port or its replicas' host:port
        separated by commas (calls are spread over them: mesh/calls/channels.py)."""
        info = BY_NAME[service]
        raw = self.text(info.address_variable, info.address)
        addrs = [addr.strip() for addr in raw.split(",")]
        for addr in addrs:
            self._checked_addr(info.address_variable, addr, info.address)
        return ",".join(addrs)

    def listen_addr(self, service: str) -> str:
        """Where `service` listens: <SERVICE>_LISTEN_ADDR, else the address it is called at."""
        variable = f"{service.upper()}_LISTEN_ADDR"
        called = self.service_addr(service)
        if "," in called and not self.text(variable, ""):
            info = BY_NAME[service]
            raise ConfigError(f"{info.address_variable} lists replicas: set {variable} too")
        return self.addr(variable, called)

    def metrics_addr(self, service: str) -> str:
        """Where Prometheus scrapes `service`: <SERVICE>_METRICS_ADDR."""
        info = BY_NAME[service]
        return self.addr(info.metrics_variable, info.metrics_address)

    def health_addr(self, service: str) -> str:
        """Where `service` serves plaintext grpc.health.v1 alone, for probes that cannot present
        a certificate (the kubelet's): <SERVICE>_HEALTH_ADDR; unset or empty, nowhere."""
        variable = BY_NAME[service].health_variable
        raw = self.text(variable, "")
        if not raw:
            return ""
        return self._checked_addr(variable, raw, BY_NAME[service].health_address)

    def database_url(self) -> str:
        """Where a service keeps its state on PostgreSQL: DATABASE_URL; empty: SQLite."""
        raw = self.text("DATABASE_URL", "")
        if not raw:
            return ""
        parts = urlsplit(raw)
        try:
            port = parts.port
        except ValueError:
            port = -1
        host = parts.hostname or "no host"
        if (
            parts.scheme not in ("postgresql", "postgres")
            or not parts.hostname
            or port == -1
            or not parts.path.strip("/")
        ):
            # Never echo the URL itself: it may hold a password.
            raise ConfigError(
                f"DATABASE_URL (host {host}): expected"
                " postgresql://user:password@host:port/database, or unset for SQLite"
            )
        return raw

    def nats_url(self) -> str:
        """Where NATS is: NATS_URL, one URL or a cluster's URLs separated by commas."""
        url = self.text("NATS_URL", DEFAULT_NATS_URL)
        servers = [server.strip() for server in url.split(",")]
        if not all(server.startswith(("nats://", "tls://")) for server in servers):
            raise ConfigError(f"NATS_URL={url!r}: expected nats://host:port[,nats://host:port...]")
        if len({server.partition("://")[0] for server in servers}) > 1:
            raise ConfigError(f"NATS_URL={url!r}: every server in the list needs the same scheme")
        return ",".join(servers)

    def mesh_tls_on(self) -> bool:
        """MESH_TLS: on, the default; off only for the benchmark, to measure what TLS costs.

        Off drops mTLS and the authorization policy together, so it is refused unless
        MESH_TLS_OFF_FOR_BENCHMARK=yes says, by a second name, that this is the benchmark.
        """
        mode = self.text("MESH_TLS", "on").lower()
        if mode not in {"on", "off"}:
            raise ConfigError(f"MESH_TLS={mode!r}: expected on, or off (benchmark only)")
        if mode == "off" and self.text(TLS_OFF_VARIABLE, "").lower() != "yes":
            raise ConfigError(
                f"MESH_TLS=off drops mTLS and authorization: refused unless {TLS_OFF_VARIABLE}=yes"
                " (benchmark only)"
            )
        return mode == "on"

    def mesh_tls(self, identity: str) -> MeshTls | None:
        """Where the identity's certificate files are (MESH_CERTS_DIR, else $DATA_DIR/certs);
        None with MESH_TLS=off. The process checks them before it serves (mesh.process)."""
        if not self.mesh_tls_on():
            return None
        default = Path(self.text("DATA_DIR", "./data")) / "certs"
        return MeshTls(identity, Path(self.text("MESH_CERTS_DIR", str(default))))

    def nats_tls(self, identity: str) -> MeshTls | None:
        """The certificate `identity` shows NATS when NATS_URL says tls:// (the URL says whether
        NATS speaks TLS, as NATS clients read it everywhere); None for nats://."""
        url = self.nats_url()
        if not url.startswith("tls://"):
            return None
        tls = self.mesh_tls(identity)
        if tls is None:
            raise ConfigError(f"NATS_URL={url!r} needs MESH_TLS=on: TLS to NATS is mTLS")
        return tls

    def flag(self, name: str) -> bool:
        raw = self.text(name, "false").lower()
        if raw not in {"true", "false"}:
            raise ConfigError(f"{name}={raw!r}: expected true or false")
        return raw == "true"


@dataclass(frozen=True)
class ServerConfig:
    """What every service's process needs: its name, where it listens, how it stops and logs."""

    name: str
    listen_addr: str
    shutdown_grace: float
    log_level: str
    # Time between turning NOT_SERVING and closing the port, so probes and load balancers
    # see the service leave before its connections are refused.
    shutdown_drain: float = 0.5
    # Where the Prometheus exposition is served; empty: nowhere (tests that build servers).
    metrics_addr: str = ""
    # Where plaintext grpc.health.v1 alone is served (mesh.health.port); empty: nowhere.
    health_addr: str = ""
    # Fault injection (simplebank.ops.v1.FaultService): off unless OPS_FAULTS_ENABLED=true.
    faults: FaultSettings = field(default_factory=FaultSettings)
    # The process's certificate, presented on its port and on every channel it makes; None:
    # plaintext everywhere (tests that build servers, MESH_TLS=off).
    tls: MeshTls | None = None
    listener: Listener = Listener.PLAINTEXT
    policy: Policy | None = None  # None: no authorization check (the public gateway port)
    # MESH_TLS=off with MESH_TLS_OFF_FOR_BENCHMARK=yes: warned about at start.
    tls_off_for_benchmark: bool = False
    # The public port's own certificate (GATEWAY_TLS_CERT, GATEWAY_TLS_KEY); None: with
    # GATEWAY_TLS=true it shows the mesh certificate.
    public_tls: PublicTls | None = None

    @property
    def port_tls(self) -> MeshTls | PublicTls | None:
        """The certificate the port shows: the public one if given, else the mesh's."""
        return self.public_tls or self.tls

    def calling(self, service: str) -> ChannelTls | None:
        """How a channel of this process to `service` is secured."""
        return None if self.tls is None else ChannelTls(self.tls, service)

    @classmethod
    def from_env(cls, name: str, env: Env, *, public: bool = False) -> ServerConfig:
        """`public`: the port customers call (the gateway): plaintext unless <NAME>_TLS=true,
        and no client certificate asked for; every other port takes only the mesh's callers."""
        tls = env.mesh_tls(name)
        public_tls = None
        if public:
            public_tls = public_certificate(name, env)
            serve_tls = env.flag(f"{name.upper()}_TLS") or public_tls is not None
            if serve_tls and tls is None and public_tls is None:
                raise ConfigError(
                    f"{name.upper()}_TLS=true needs MESH_TLS=on, or"
                    f" {name.upper()}_TLS_CERT and {name.upper()}_TLS_KEY"
                )
            listener = Listener.TLS if serve_tls else Listener.PLAINTEXT
        else:
            listener = Listener.PLAINTEXT if tls is None else Listener.MTLS
        policy = None
        if listener is Listener.MTLS:
            try:
                policy = Policy.load(Path(env.text("AUTHZ_POLICY", str(DEFAULT_POLICY))))
            except PolicyError as error:
                raise ConfigError(f"AUTHZ_POLICY: {error}") from None
        faults = fault_settings(env)
        if faults.enabled and listener is not Listener.MTLS:
            # Before anything starts: the public port never serves FaultService (mesh.server).
            raise ConfigError(
                f"{ENABLED_VARIABLE}=true needs an mTLS port with the authorization policy:"
                f" {name} listens {listener.value}"
                " (fault injection is never served without an operator identity)"
            )
        level = env.text("LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"LOG_LEVEL={level!r}: expected DEBUG, INFO, WARNING or ERROR")
        return cls(
            name=name,
            listen_addr=env.listen_addr(name),
            shutdown_grace=env.number("SHUTDOWN_GRACE_SECONDS", DEFAULT_SHUTDOWN_GRACE_SECONDS),
            log_level=level,
            shutdown_drain=env.number("SHUTDOWN_DRAIN_SECONDS", 0.5),
            metrics_addr=env.metrics_addr(name),
            health_addr=env.health_addr(name),
            faults=faults,
            tls=tls,
            listener=listener,
            policy=policy,
            tls_off_for_benchmark=tls is None,
            public_tls=public_tls,
        )


def public_certificate(name: str, env: Env) -> PublicTls | None:
    """<NAME>_TLS_CERT and <NAME>_TLS_KEY: the public port's own certificate; both or neither."""
    cert = env.text(f"{name.upper()}_TLS_CERT", "")
    key = env.text(f"{name.upper()}_TLS_KEY", "")
    if bool(cert) != bool(key):
        raise ConfigError(f"{name.upper()}_TLS_CERT and {name.upper()}_TLS_KEY go together")
    return PublicTls(Path(cert), Path(key)) if cert else None


def fault_settings(env: Env) -> FaultSettings:
    """OPS_FAULTS_ENABLED and OPS_FAULTS (mesh.faults.settings)."""
    try:
        return FaultSettings.parse(env.text(ENABLED_VARIABLE, ""), env.text(FAULTS_VARIABLE, ""))
    except ValueError as error:
        raise ConfigError(str(error)) from None


@dataclass(frozen=True)
class StoreConfig:
    """Where a service with state keeps it and how it reaches the event stream."""

    database_path: Path
    nats_url: str
    # The certificate the service shows NATS, which maps it to its NATS user; None: plaintext.
    nats_tls: MeshTls | None = None
    # postgresql://... when the service keeps its state in PostgreSQL (shared by its replicas).
    database_url: str = ""

    @property
    def database(self) -> Path | str:
        """The database's location: DATABASE_URL if set, else the service's SQLite file."""
        return self.database_url or self.database_path

    @classmethod
    def from_env(cls, name: str, env: Env) -> StoreConfig:
        data_dir = Path(env.text("DATA_DIR", "./data"))
        return cls(
            database_path=data_dir / f"{name}.sqlite3",
            nats_url=env.nats_url(),
            nats_tls=env.nats_tls(name),
            database_url=env.database_url(),
        )
