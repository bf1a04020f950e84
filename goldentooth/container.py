"""Kernel-only steps inside containers (the lab): skipped with a visible warning, never silently.

Lab nodes are systemd-nspawn containers without nfsd, autofs or the zfs module. Deploys still
write every file and enable every unit there and skip only what the container kernel refuses;
on a real host (no container detected) nothing is ever skipped.
"""

from __future__ import annotations

from pyinfra import host, logger

from facts.host import HostProfile


def kernel_refuses(step: str) -> bool:
    """True, after a warning naming the step, when this host is a container; False on real hosts."""
    container = host.get_fact(HostProfile).get("container")
    if not container:
        return False
    logger.warning(f"{host.print_prefix}skipping {step}: not possible in a {container} container (kernel)")
    return True
