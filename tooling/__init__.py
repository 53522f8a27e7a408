"""Developer entry points: the `make run` launcher and the terminal trace viewer."""
