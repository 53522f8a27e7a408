"""The process's OpenTelemetry resource (service.name and the rest), hashed once."""

from __future__ import annotations

import os

from opentelemetry.sdk.resources import SERVICE_NAME, Attributes, Resource


class _HashedOnce(Resource):
    """A Resource whose hash is worked out when it is made, not on every call.

    The OTLP encoders group what they export by resource, hashing it for every span and log
    record, and Resource's hash is a JSON dump of its attributes: a fifth of the CPU spent
    encoding a span. A resource's attributes cannot change after it is made, so once is enough.
    """

    def __init__(self, attributes: Attributes, schema_url: str | None = None) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def process_resource(service_name: str) -> Resource:
    """The resource of this process's spans, log records and metrics: OTEL_SERVICE_NAME (else
    `service_name`), OTEL_RESOURCE_ATTRIBUTES and the SDK's own attributes."""
    created = Resource.create({SERVICE_NAME: os.environ.get("OTEL_SERVICE_NAME", service_name)})
    return _HashedOnce(created.attributes, created.schema_url)
