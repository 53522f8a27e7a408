"""What tests send and read: customers, events, JetStream, traces, snapshots and invariants."""
