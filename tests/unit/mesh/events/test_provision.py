"""The provisioner against a JetStream that does not answer at first: it asks again until done."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from nats.js import api
from nats.js.errors import NotFoundError

from mesh.events.provision import RETRY_SECONDS, provision_retrying


class ElectingJetStream:
    """No answer to the first `silent` requests (a cluster electing), then an empty stream."""

    def __init__(self, silent: int) -> None:
        self.silent = silent
        self.created: list[api.ConsumerConfig] = []

    def _answer(self) -> None:
        if self.silent:
            self.silent -= 1
            raise TimeoutError("nats: timeout")

    async def stream_info(self, stream: str) -> Any:
        self._answer()
        return SimpleNamespace(state=SimpleNamespace(last_seq=0))

    async def consumer_info(self, stream: str, name: str) -> Any:
        self._answer()
        raise NotFoundError

    async def add_consumer(self, stream: str, config: api.ConsumerConfig) -> None:
        self._answer()
        self.created.append(config)


async def test_a_request_nats_does_not_answer_is_made_again_until_every_durable_is_made() -> None:
    js = ElectingJetStream(silent=3)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    done = await provision_retrying(js, 5.0, sleep)  # type: ignore[arg-type]

    assert done == ["created orders", "created accounts", "created fees", "created market"]
    assert [c.durable_name for c in js.created] == ["orders", "accounts", "fees", "market"]
    assert slept == [RETRY_SECONDS] * 3
