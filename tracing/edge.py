"""The public edge starts its own traces: a customer's `traceparent` becomes a link, never the
parent of the gateway's spans.

A caller outside the mesh could otherwise choose the trace every span of its order joins (and
its sampling flag), mixing its spans into another's trace or forcing every order to be kept.
The gateway's process takes no context in, since it consumes no events: its propagator sends the
context on to the services it calls and extracts nothing, so each public call starts a new
trace; the client's context, when it sends one, is a link on the gateway's SERVER span, so the
two traces can still be followed from one to the other.
"""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import (
    CarrierT,
    Getter,
    Setter,
    TextMapPropagator,
    default_getter,
    default_setter,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# Reads a caller's `traceparent` for the link, on every public call: made once.
_W3C = TraceContextTextMapPropagator()


class SendOnlyPropagator(TextMapPropagator):
    """Injects as `inner` does; extracts nothing (a call's context starts empty)."""

    def __init__(self, inner: TextMapPropagator) -> None:
        self._inner = inner

    def extract(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        getter: Getter[CarrierT] = default_getter,
    ) -> Context:
        return context if context is not None else Context()

    def inject(
        self,
        carrier: CarrierT,
        context: Context | None = None,
        setter: Setter[CarrierT] = default_setter,
    ) -> None:
        self._inner.inject(carrier, context, setter)

    @property
    def fields(self) -> set[str]:
        return self._inner.fields


def start_own_traces() -> None:
    """From now on this process starts a new trace for every call it serves."""
    current = propagate.get_global_textmap()
    if not isinstance(current, SendOnlyPropagator):
        propagate.set_global_textmap(SendOnlyPropagator(current))


def link_client_context(metadata: Iterable[tuple[str, str | bytes]]) -> None:
    """Link the current span to the trace the caller's `traceparent` names, if it names one."""
    carrier = {key: value for key, value in metadata if isinstance(value, str)}
    context = _W3C.extract(carrier)
    client = trace.get_current_span(context).get_span_context()
    if client.is_valid:
        trace.get_current_span().add_link(client, {"simplebank.link": "client trace"})
