"""Errors: the domain's kinds, the one table to gRPC status codes, out to the wire and back from
it."""
