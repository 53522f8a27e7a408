"""End-to-end tests: the whole mesh started by `make run`'s launcher, driven like a user does."""
