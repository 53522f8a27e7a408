"""Gateway: the public edge that authenticates, authorizes and validates client calls."""
