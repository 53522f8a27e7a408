"""Fees: prices each order and charges or refunds its one fee."""
