"""Kernel runtime state: loaded modules and live sysctl values.

Persisting them (``/etc/modules-load.d``, ``/etc/sysctl.d``) is plain file management done by the
deploy; these operations make the running kernel match now. In a container the kernel refuses
both; with ``container=True`` the step is skipped with a visible warning instead of failing.
"""

from __future__ import annotations

import re

from pyinfra import host, logger
from pyinfra.api import OperationError, QuoteString, StringCommand, operation

from facts.kernel import LoadedModules, ModuleListFile, SysctlValues

MODULE_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
SYSCTL_KEY = re.compile(r"^[A-Za-z0-9_.-]+$")
SYSCTL_VALUE = re.compile(r"^[A-Za-z0-9_ .:/-]+$")


def _skip(container: bool, what: str) -> bool:
    """True (after a warning) when a kernel step must be skipped because the host is a container."""
    if container:
        logger.warning(f"{host.name}: container detected, not {what} (the kernel refuses it here)")
    return container


@operation()
def modules_loaded(modules: list[str], container: bool = False):
    """
    Load kernel modules that are not loaded yet (``modprobe``).

    + modules: module names
    + container: the host is a container, whose kernel is shared: warn instead of loading

    **Examples:**

    .. code:: python

        kernel.modules_loaded(
            name="Load the overlay and br_netfilter modules",
            modules=["overlay", "br_netfilter"],
        )
    """
    invalid = [name for name in modules if not MODULE_NAME.match(name)]
    if not modules or invalid:
        raise OperationError(f"kernel.modules_loaded: invalid module list: {modules!r}")
    loaded = set(host.get_fact(LoadedModules, modules=modules))
    missing = [name for name in modules if name not in loaded]
    if not missing:
        host.noop(f"modules {', '.join(modules)} are loaded")
        return
    if _skip(container, f"loading {', '.join(missing)}"):
        host.noop(f"modules {', '.join(missing)} not loaded (container)")
        return
    for name in missing:
        yield StringCommand("modprobe", QuoteString(name))


@operation()
def sysctls(values: dict[str, str | int], container: bool = False):
    """
    Set live kernel parameters that differ from the wanted values (``sysctl -w``), in one command.

    + values: sysctl key -> wanted value
    + container: the host is a container, whose ``/proc/sys`` is read-only: missing keys and
      differing values are reported with a warning instead of failing the host

    **Examples:**

    .. code:: python

        kernel.sysctls(
            name="Apply the Kubernetes networking sysctls",
            values={"net.ipv4.ip_forward": 1},
        )
    """
    wanted = {key: str(value) for key, value in values.items()}
    bad = [key for key, value in wanted.items() if not SYSCTL_KEY.match(key) or not SYSCTL_VALUE.match(value)]
    if not wanted or bad:
        raise OperationError(f"kernel.sysctls: invalid key or value: {', '.join(bad) or 'none given'}")
    live = host.get_fact(SysctlValues, keys=list(wanted))
    absent = [key for key in wanted if live.get(key) is None]
    if absent and not _skip(container, f"setting {', '.join(absent)}"):
        raise OperationError(f"kernel.sysctls: the kernel has no {', '.join(absent)} (module not loaded?)")
    differing = [key for key in wanted if key not in absent and live.get(key) != wanted[key]]
    if not differing:
        settable = [key for key in wanted if key not in absent]
        host.noop(f"sysctls {', '.join(settable)} are set" if settable else "no sysctl can be set here")
        return
    if _skip(container, f"setting {', '.join(differing)}"):
        host.noop(f"sysctls {', '.join(differing)} not set (container)")
        return
    yield StringCommand("sysctl", "-w", *(QuoteString(f"{key}={wanted[key]}") for key in differing))


@operation()
def modprobe_d_cleaned(path: str):
    """
    Delete a ``/etc/modprobe.d`` file that only lists module names (it never loaded them; the
    list belongs in ``/etc/modules-load.d``). A file with real directives is left alone.

    + path: the file to check

    **Examples:**

    .. code:: python

        kernel.modprobe_d_cleaned(
            name="Remove the original's module list from modprobe.d",
            path="/etc/modprobe.d/kubernetes.conf",
        )
    """
    if not path.startswith("/etc/modprobe.d/"):
        raise OperationError(f"kernel.modprobe_d_cleaned: {path!r} is not in /etc/modprobe.d")
    if host.get_fact(ModuleListFile, path=path):
        yield StringCommand("rm", "-f", QuoteString(path))
    else:
        host.noop(f"{path} holds no bare module list")
