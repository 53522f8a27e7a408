"""Accounts: owns cash, share positions with reservations, and the double-entry cash ledger."""
