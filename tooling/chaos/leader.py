"""Which NATS node leads the mesh's stream: asked of any node's monitoring port (/jsz)."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Sequence

from mesh.events.bus import STREAM

ASK_TIMEOUT_SECONDS = 1.0


class NoLeader(Exception):
    """No node answered with a leader of the stream in time (an election lasts seconds)."""


def stream_leader(monitors: Sequence[str], timeout: float) -> str:
    """The leading node's server name (the launcher's child name: nats-1 ...)."""
    deadline = time.monotonic() + timeout
    while True:
        for monitor in monitors:
            leader = _asked(monitor)
            if leader:
                return leader
        if time.monotonic() > deadline:
            raise NoLeader(f"no node of {', '.join(monitors)} knew a leader of {STREAM}")
        time.sleep(0.2)


def _asked(monitor: str) -> str:
    """What one node says leads the stream; empty if it is down or does not know yet."""
    url = f"http://{monitor}/jsz?streams=1"
    try:
        with urllib.request.urlopen(url, timeout=ASK_TIMEOUT_SECONDS) as response:
            facts = json.load(response)
    except OSError:
        return ""
    for account in facts.get("account_details") or []:
        for stream in account.get("stream_detail") or []:
            if stream.get("name") == STREAM:
                return str((stream.get("cluster") or {}).get("leader") or "")
    return ""
