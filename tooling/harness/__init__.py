"""A mesh on free ports: what bench, chaos and the tests start and stop."""
