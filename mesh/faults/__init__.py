"""Fault injection: what a fault is, the faults in force in a process, and the operator's
FaultService."""
