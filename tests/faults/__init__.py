"""Fault runs: parts of a system of the tests' own killed and restarted under a sustained mixed load,
with figures (docs/reliability.md, "Faults")."""
