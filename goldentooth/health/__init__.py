"""Health checks of converged hosts: host selection, SSH connections, trap-free probes, reports.

The testinfra suites live in tests/health/ and run through `goldentooth test`; this package holds
what they share, so that it is importable and unit-tested without any host.
"""
