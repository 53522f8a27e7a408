"""Orders: owns sell orders and follows each one from PENDING to FILLED or REJECTED."""
