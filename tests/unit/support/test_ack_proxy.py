"""The ack proxy's filter (tests/support/servers/ack_proxy.py) drops exactly the JetStream acks
while holding, however the client's bytes are split."""

from __future__ import annotations

import pytest

from tests.support.servers.ack_proxy import AckFilter, HeldAcks

ACK = b"PUB $JS.ACK.SIMPLEBANK.accounts-FeeCharged.1.7.3.1700000000.0 4\r\n+ACK\r\n"
TRAFFIC = [
    b'CONNECT {"verbose":false}\r\n',
    b"PING\r\n",
    b"SUB _INBOX.abc 1\r\n",
    b"HPUB simplebank.events.FeeCharged _INBOX.x 18 23\r\nNATS/1.0\r\nA: b\r\n\r\nhello\r\n",
    ACK,
    b'PUB $JS.API.CONSUMER.MSG.NEXT.SIMPLEBANK.accounts-FeeCharged _INBOX.y 11\r\n{"batch":1}\r\n',
    ACK.replace(b".7.3.", b".8.4."),
]
STREAM = b"".join(TRAFFIC)
NOT_ACKS = b"".join(op for op in TRAFFIC if b"$JS.ACK." not in op)


def feed_in_chunks(ack_filter: AckFilter, size: int) -> bytes:
    return b"".join(ack_filter.feed(STREAM[i : i + size]) for i in range(0, len(STREAM), size))


@pytest.mark.parametrize("chunk_size", [1, 3, 17, len(STREAM)])
def test_holding_drops_every_ack_and_passes_everything_else(chunk_size: int) -> None:
    held = HeldAcks(holding=True)

    passed = feed_in_chunks(AckFilter(held), chunk_size)

    assert passed == NOT_ACKS
    assert held.subjects == [
        "$JS.ACK.SIMPLEBANK.accounts-FeeCharged.1.7.3.1700000000.0",
        "$JS.ACK.SIMPLEBANK.accounts-FeeCharged.1.8.4.1700000000.0",
    ]


def test_not_holding_passes_every_byte() -> None:
    held = HeldAcks(holding=False)

    assert feed_in_chunks(AckFilter(held), 5) == STREAM
    assert held.subjects == []
