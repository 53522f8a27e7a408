"""Domain error kinds every service raises; standard library only, mapped to gRPC in
mesh.errors.status."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: the field's proto name and what is wrong with it."""

    field: str
    description: str


class DomainError(Exception):
    """Base of every error a handler may raise on purpose.

    `reason` is a stable UPPER_SNAKE_CASE word a client can branch on; `metadata` carries the
    facts behind it (for example how many shares are available).
    """

    reason: str = "DOMAIN_ERROR"
    # False: whoever raised it logs it in its own way (failed logins, counted per interval).
    logged: bool = True

    def __init__(
        self, message: str, *, reason: str | None = None, metadata: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        self.metadata: dict[str, str] = dict(metadata or {})


class InvalidArgument(DomainError):
    """The request itself is malformed: a client must change it before trying again."""

    reason = "INVALID_ARGUMENT"

    def __init__(self, violations: Sequence[FieldViolation], message: str = "") -> None:
        self.violations = tuple(violations)
        text = message or "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        super().__init__(text)


class Unauthenticated(DomainError):
    """No credentials, or credentials nobody issued."""

    reason = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    """The caller is known but may not touch this resource."""

    reason = "PERMISSION_DENIED"


class NotFound(DomainError):
    """The named resource does not exist."""

    reason = "NOT_FOUND"


class AlreadyExists(DomainError):
    """The resource exists already in a way that conflicts with the request."""

    reason = "ALREADY_EXISTS"


class FailedPrecondition(DomainError):
    """The request is well formed but the system is not in a state that allows it."""

    reason = "FAILED_PRECONDITION"


class Aborted(DomainError):
    """The request lost a race with another (or was given up on halfway): nothing was done,
    and the same request again, a moment later, may work."""

    reason = "ABORTED"


# The reason of an Unavailable refused by a circuit breaker (mesh.calls.breaker), kept on every hop.
CIRCUIT_OPEN = "CIRCUIT_OPEN"


class Unavailable(DomainError):
    """A service this call depends on cannot be reached now; the same call may work later."""

    reason = "UPSTREAM_UNAVAILABLE"


class DeadlineExceeded(DomainError):
    """The call's time budget ran out before a service it depends on answered."""

    reason = "DEADLINE_EXCEEDED"


class ResourceExhausted(DomainError):
    """Too much work at once: refused without being started; try again after a while."""

    reason = "OVERLOADED"

    def __init__(
        self,
        message: str,
        *,
        reason: str | None = None,
        metadata: Mapping[str, str] | None = None,
        retry_after_seconds: float = 1.0,
    ) -> None:
        super().__init__(message, reason=reason, metadata=metadata)
        self.retry_after_seconds = retry_after_seconds
