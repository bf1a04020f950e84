"""apt operations that pyinfra does not provide: package holds."""

from __future__ import annotations

import re

from pyinfra import host
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.apt import HeldPackages

PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9+.-]+(:[a-z0-9-]+)?$")


@operation()
def holds(packages: list[str], held: bool = True):
    """
    Hold (or release) apt packages so that upgrades leave them at their installed version.

    + packages: Debian package names
    + held: whether the packages should be held (``apt-mark hold``) or not (``apt-mark unhold``)

    The hold is checked on every run, whether or not anything else changed.

    **Examples:**

    .. code:: python

        apt.holds(
            name="Hold the Kubernetes packages at their pinned version",
            packages=["kubeadm", "kubelet", "kubectl"],
        )
    """
    if not packages:
        raise OperationError("apt.holds needs at least one package name")
    invalid = [name for name in packages if not PACKAGE_NAME.match(name)]
    if invalid:
        raise OperationError(f"apt.holds: invalid package name(s): {', '.join(invalid)}")

    current = set(host.get_fact(HeldPackages))
    to_change = [name for name in packages if (name in current) != held]
    state = "held" if held else "not held"
    if not to_change:
        host.noop(f"packages {', '.join(packages)} are {state}")
        return
    yield StringCommand("apt-mark", "hold" if held else "unhold", *(QuoteString(name) for name in to_change))
