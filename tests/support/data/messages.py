"""What a service process says it did with its events, read from its Prometheus endpoint with
prometheus_client's own parser of the exposition format."""

from __future__ import annotations

import urllib.request
from collections import Counter

from prometheus_client.parser import text_string_to_metric_families

PROCESSED = "simplebank_messages_processed"


def processed(metrics_addr: str) -> Counter[tuple[str, str, str]]:
    """Messages processed, by (consumer, event, outcome): simplebank.messages.processed."""
    with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=5) as page:
        text = page.read().decode()
    counts: Counter[tuple[str, str, str]] = Counter()
    for family in text_string_to_metric_families(text):
        if family.name != PROCESSED:
            continue
        for sample in family.samples:
            if sample.name == f"{PROCESSED}_total":
                labels = sample.labels
                key = (labels["consumer"], labels["event"], labels["outcome"])
                counts[key] += int(sample.value)
    return counts
