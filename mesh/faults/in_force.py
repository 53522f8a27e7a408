"""The faults in force in one process: checked against what it serves, rolled with seeded dice.

Every fault that hits is visible three ways: an event on the span of the call or event it hit,
the counter `simplebank.faults.injected{target, kind}`, and (when set or cleared) a log line.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Collection, Iterable

import grpc

from mesh.errors import kinds
from mesh.faults.settings import Fault
from tracing.metrics import meter
from tracing.span_events import note

log = logging.getLogger(__name__)

STATUS_NAMES = frozenset(code.name for code in grpc.StatusCode if code is not grpc.StatusCode.OK)
MAX_DELAY_MS = 60_000


class InjectedFault(Exception):
    """An event failed on purpose: it is redelivered later, like after any transient failure."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"injected fault: {fault.error_code} on {fault.target}")
        self.fault = fault


def violations(fault: Fault, targets: Collection[str]) -> list[kinds.FieldViolation]:
    """Everything wrong with a fault, field by field (proto names, as SetFault's request)."""
    found = []
    if fault.target not in targets:
        found.append(kinds.FieldViolation("fault.target", f"unknown target {fault.target!r}"))
    if fault.error_code and fault.error_code not in STATUS_NAMES:
        found.append(
            kinds.FieldViolation(
                "fault.error_code", f"unknown gRPC status name {fault.error_code!r}"
            )
        )
    if not 0 <= fault.percent <= 100:
        found.append(kinds.FieldViolation("fault.percent", "must be between 0 and 100"))
    if not 0 <= fault.delay_ms <= MAX_DELAY_MS:
        found.append(kinds.FieldViolation("fault.delay_ms", f"must be 0 to {MAX_DELAY_MS}"))
    return found


class FaultBook:
    """At most one fault per target; `hit` rolls the fault's own dice (seeded if it has a seed)."""

    def __init__(self, targets: Iterable[str], initial: Iterable[Fault] = ()) -> None:
        self.targets = tuple(sorted(targets))
        self._faults: dict[str, tuple[Fault, random.Random]] = {}
        self._injected = meter("simplebank.ops").create_counter(
            "simplebank.faults.injected",
            unit="{fault}",
            description="Calls and events delayed or failed on purpose.",
        )
        for fault in initial:
            self.set(fault)

    def set(self, fault: Fault) -> Fault:
        """Put `fault` in force; InvalidArgument with a violation per bad field."""
        problems = violations(fault, self.targets)
        if problems:
            raise kinds.InvalidArgument(problems)
        self._faults[fault.target] = (fault, random.Random(fault.seed))
        log.warning(
            "fault set",
            extra={
                "target": fault.target,
                "delay_ms": fault.delay_ms,
                "error_code": fault.error_code,
                "percent": fault.percent,
                "seed": fault.seed,
            },
        )
        return fault

    def clear(self, target: str = "") -> int:
        """Remove every fault, or the one on `target`; how many were removed."""
        cleared = [t for t in self._faults if not target or t == target]
        for name in cleared:
            del self._faults[name]
        log.warning("faults cleared", extra={"targets": cleared})
        return len(cleared)

    def faults(self) -> list[Fault]:
        return [fault for fault, _ in self._faults.values()]

    def hit(self, target: str) -> Fault | None:
        """The fault to inject into this call or event, if the dice say so."""
        entry = self._faults.get(target)
        if entry is None:
            return None
        fault, dice = entry
        return fault if dice.uniform(0, 100) < fault.percent else None

    async def inject(self, target: str) -> Fault | None:
        """Apply the delay of a fault that hits, mark it on the span, count it; the fault is
        returned so the caller fails the way its side fails (a status, a redelivery)."""
        fault = self.hit(target)
        if fault is None:
            return None
        note(
            "fault injected",
            {
                "simplebank.fault.target": target,
                "simplebank.fault.kind": fault.kind,
                "simplebank.fault.delay_ms": fault.delay_ms,
                "simplebank.fault.error_code": fault.error_code,
            },
        )
        self._injected.add(1, {"target": target, "kind": fault.kind})
        if fault.delay_ms:
            await asyncio.sleep(fault.delay_ms / 1000)
        return fault
