"""The one place channels are made: timeout and retry policy as service-config data, tracing on."""

from __future__ import annotations

import json
from dataclasses import dataclass

import grpc

from mesh.deadline import DeadlineClientInterceptor
from tracing.rpc import client_interceptors


@dataclass(frozen=True)
class CallPolicy:
    """How calls on a channel behave when nobody upstream set a shorter deadline."""

    timeout_seconds: float = 1.0
    max_attempts: int = 3
    initial_backoff_seconds: float = 0.05
    max_backoff_seconds: float = 0.5

    def service_config(self) -> str:
        """gRPC service config: one timeout for every method, retries on UNAVAILABLE only.

        UNAVAILABLE means the call never reached a handler, so retrying it is safe; every
        other code may mean the work was done, and idempotency keys handle those at a higher
        level.
        """
        return json.dumps(
            {
                "methodConfig": [
                    {
                        "name": [{}],
                        "timeout": f"{self.timeout_seconds}s",
                        "retryPolicy": {
                            "maxAttempts": self.max_attempts,
                            "initialBackoff": f"{self.initial_backoff_seconds}s",
                            "maxBackoff": f"{self.max_backoff_seconds}s",
                            "backoffMultiplier": 2,
                            "retryableStatusCodes": ["UNAVAILABLE"],
                        },
                    }
                ]
            }
        )


def make_channel(target: str, policy: CallPolicy | None = None) -> grpc.aio.Channel:
    """A long-lived insecure channel to an upstream on the local mesh."""
    policy = policy or CallPolicy()
    return grpc.aio.insecure_channel(
        target,
        options=[
            ("grpc.service_config", policy.service_config()),
            ("grpc.enable_retries", 1),
            # Reconnect quickly after an upstream restarts instead of backing off for seconds.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ],
        # Deadline first, so the tracing span and the retries see the shortened timeout.
        interceptors=[DeadlineClientInterceptor(), *client_interceptors()],  # type: ignore[list-item]
    )
