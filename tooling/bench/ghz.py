"""ghz, the gRPC load tester: one bounded run against an address, its JSON report parsed."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tooling.launcher.paths import REPO_ROOT

GHZ = REPO_ROOT / ".tools" / "bin" / "ghz"
CALL = "simplebank.gateway.v1.GatewayService.PlaceSellOrder"
# The contracts as `make protos` compiles them, so the bare baseline needs no reflection.
PROTOSET = REPO_ROOT / "generated" / "simplebank" / "descriptors.binpb"
REQUEST_TIMEOUT = "5s"
NS_PER_MS = 1_000_000


@dataclass(frozen=True)
class Load:
    """How hard to push: `total` requests, or for `seconds`; at `rate` per second or flat out."""

    concurrency: int
    total: int = 0
    seconds: float = 0.0
    rate: int = 0  # 0: as fast as the server answers

    def args(self) -> list[str]:
        args = ["--concurrency", str(self.concurrency)]
        if self.seconds:
            # Calls still in flight when time is up finish and count, rather than fail.
            args += ["--duration", f"{self.seconds:g}s", "--duration-stop", "wait"]
        else:
            # (ghz's --max-duration would override --total: the process timeout bounds it.)
            args += ["--total", str(self.total)]
        if self.rate:
            args += ["--rps", str(self.rate)]
        return args


@dataclass(frozen=True)
class Result:
    """What ghz counted: calls, calls per second, latency percentiles (ms) and failures."""

    count: int
    ok: int
    rps: float
    seconds: float
    average_ms: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    failures: Mapping[str, int] = field(default_factory=dict)  # status or message -> count
    ok_p95_ms: float = 0.0  # p95 of the calls that succeeded only (the admitted ones)

    @property
    def errors(self) -> int:
        return self.count - self.ok

    @property
    def ok_rps(self) -> float:
        """Calls answered OK a second: a call refused fast is not throughput."""
        return self.ok / max(self.seconds, 1e-9)


def run(target: str, load: Load, data: Mapping[str, Any], metadata: Mapping[str, str]) -> Result:
    """Call PlaceSellOrder on `target` with `data` and `metadata` (ghz call templates)."""
    return parse(report(target, load, data, metadata))


def report(target: str, load: Load, data: Mapping[str, Any], metadata: Mapping[str, str]) -> Any:
    """ghz's JSON report of one run, as it wrote it: every call's latency and status included."""
    with tempfile.TemporaryDirectory(prefix="ghz-") as folder:
        output = Path(folder) / "report.json"
        args = [str(GHZ), "--insecure", "--protoset", str(PROTOSET), "--call", CALL]
        args += ["--timeout", REQUEST_TIMEOUT]
        args += ["--data", json.dumps(dict(data)), "--metadata", json.dumps(dict(metadata))]
        args += [*load.args(), "--format", "json", "--output", str(output), target]
        finished = subprocess.run(args, capture_output=True, text=True, timeout=_limit(load))
        if finished.returncode != 0 or not output.exists():
            raise RuntimeError(f"ghz failed ({finished.returncode}): {finished.stderr.strip()}")
        return json.loads(output.read_text())


def parse(report: Any) -> Result:
    """The figures we use from ghz's JSON report (times in nanoseconds)."""
    codes: dict[str, int] = report.get("statusCodeDistribution") or {}
    errors: dict[str, int] = report.get("errorDistribution") or {}
    percentiles = {
        int(entry["percentage"]): float(entry["latency"]) / NS_PER_MS
        for entry in report.get("latencyDistribution") or []
    }
    failures = {str(code): int(n) for code, n in codes.items() if code != "OK"}
    ok_latencies = sorted(
        float(d["latency"]) / NS_PER_MS
        for d in report.get("details") or []
        if d.get("status") == "OK"
    )
    failures |= {str(message): int(n) for message, n in errors.items()}
    return Result(
        count=int(report["count"]),
        ok=int(codes.get("OK", 0)),
        rps=float(report["rps"]),
        seconds=float(report["total"]) / NS_PER_MS / 1000,
        average_ms=float(report["average"]) / NS_PER_MS,
        p50_ms=percentiles.get(50, 0.0),
        p95_ms=percentiles.get(95, 0.0),
        p99_ms=percentiles.get(99, 0.0),
        failures=failures,
        ok_p95_ms=ok_latencies[int(0.95 * (len(ok_latencies) - 1))] if ok_latencies else 0.0,
    )


def _limit(load: Load) -> float:
    """A hard stop for the ghz process itself, well past what the load should take."""
    planned = load.seconds or max(30, load.total // 5)
    return planned + 60
