"""Calls to other services: channels, deadline budgets, retries and circuit breakers."""
