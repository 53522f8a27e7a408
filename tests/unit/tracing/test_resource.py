"""tracing.resource: the process's resource says who it is and hashes as a Resource does."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource

from tracing.resource import process_resource


def test_names_the_service_and_keeps_resource_attributes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_SERVICE_NAME", "fees")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=fees-2")
    resource = process_resource("ignored")
    assert resource.attributes["service.name"] == "fees"
    assert resource.attributes["service.instance.id"] == "fees-2"
    assert resource.attributes["telemetry.sdk.language"] == "python"


def test_hashes_and_compares_as_the_same_resource_made_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    resource = process_resource("orders")
    plain = Resource.create({"service.name": "orders"})
    assert hash(resource) == hash(plain)
    assert resource == plain
    assert {plain: 1}[resource] == 1
