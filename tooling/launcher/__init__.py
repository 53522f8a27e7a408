"""The parts of `make run`: settings, child processes, readiness, the supervisor, the banner."""
