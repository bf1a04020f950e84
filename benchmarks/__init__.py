"""Benchmarks of goldentooth on the lab: scripts that print numbers (see BENCHMARKS.md)."""
