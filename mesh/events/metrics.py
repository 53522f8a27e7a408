"""What the event side measures: each consumer's processing, dead letters and lag, and the outbox.

Names follow config/prometheus/METRICS.md (semantic conventions v1.44.0 where they have one,
`simplebank.*` where they do not); the alert rules read them.
"""

from __future__ import annotations

from tracing.metrics import meter


class ConsumerMetrics:
    """One durable consumer's numbers, labelled with its name and its event."""

    def __init__(self, durable: str, event: str, subject: str) -> None:
        m = meter("simplebank.messaging")
        self._labels = {"consumer": durable, "event": event}
        self._semconv = {
            "messaging.system": "nats",
            "messaging.operation.name": "process",
            "messaging.destination.name": subject,
            "messaging.consumer.group.name": durable,
        }
        self._duration = m.create_histogram(
            "messaging.process.duration", unit="s", description="Duration of processing a message."
        )
        self._processed = m.create_counter(
            "simplebank.messages.processed", unit="{message}", description="Messages processed."
        )
        self._dead_lettered = m.create_counter(
            "simplebank.messages.dead_lettered",
            unit="{message}",
            description="Messages given up on and sent to the dead-letter subject.",
        )
        self._lag = m.create_gauge(
            "simplebank.consumer.lag",
            unit="{message}",
            description="Messages on the stream the consumer has not been given yet.",
        )
        # Born at zero, so the first dead letter is an increase Prometheus can see.
        self._dead_lettered.add(0, self._labels)

    def processed(self, outcome: str, seconds: float, error: BaseException | None = None) -> None:
        """`outcome`: applied, duplicate or failed."""
        semconv = (
            self._semconv if error is None else self._semconv | {"error.type": type(error).__name__}
        )
        self._duration.record(seconds, semconv)
        self._processed.add(1, self._labels | {"outcome": outcome})

    def dead_lettered(self) -> None:
        self._dead_lettered.add(1, self._labels)

    def lag(self, pending: int) -> None:
        self._lag.set(pending, {"consumer": self._labels["consumer"]})


class OutboxMetrics:
    """How much waits in the outbox, and for how long the oldest event has waited."""

    def __init__(self) -> None:
        m = meter("simplebank.messaging")
        self._backlog = m.create_gauge(
            "simplebank.outbox.backlog",
            unit="{event}",
            description="Events waiting to be published.",
        )
        self._oldest_age = m.create_gauge(
            "simplebank.outbox.oldest_age",
            unit="s",
            description="How long the oldest unpublished event has waited; 0 when none waits.",
        )

    def waiting(self, count: int, oldest_age: float) -> None:
        self._backlog.set(count)
        self._oldest_age.set(oldest_age)
