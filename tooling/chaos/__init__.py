"""make chaos: load through the gateway while services and NATS are killed, frozen, restarted
and given faults, then the mesh's invariants checked."""
