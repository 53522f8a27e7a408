"""Events: the JetStream bus, the codec, the transactional outbox and the once-only consumer."""
