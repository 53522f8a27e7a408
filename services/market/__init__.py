"""Market: a simulated exchange that quotes prices and executes or rejects orders."""
