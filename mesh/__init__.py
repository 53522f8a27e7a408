"""The chassis every SimpleBank service stands on: server, channels, errors, events, config."""
