"""Span events: something the mesh did to a call or an event (a fault, a breaker), on its span."""

from __future__ import annotations

from collections.abc import Mapping

from opentelemetry import trace
from opentelemetry.util.types import AttributeValue


def note(name: str, attributes: Mapping[str, AttributeValue]) -> None:
    """Add an event to the current span, if there is one (a no-op outside a span)."""
    trace.get_current_span().add_event(name, attributes)
