"""The options every grpc.aio server of the mesh starts with: bounds on what a caller costs."""

from __future__ import annotations

# Costs a caller can impose before anyone has checked who it is. The largest legitimate request
# of any contract is a PlaceSellOrder of four 64-character ids, well under 1 KiB; 64 KiB leaves
# room for growth and stops gRPC's default 4 MiB from being parsed before a token is read.
MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024
# Streams one connection may have open at once (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); more
# wait on the client's side, so one connection cannot open thousands of calls.
MAX_CONCURRENT_STREAMS = 100
SERVER_OPTIONS = (
    # gRPC turns SO_REUSEPORT on by default: a second process could bind the same port
    # silently and answer health checks meant for the first.
    ("grpc.so_reuseport", 0),
    ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
    ("grpc.max_concurrent_streams", MAX_CONCURRENT_STREAMS),
)
