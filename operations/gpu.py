"""Operations for NVIDIA GPU nodes (spec 60-gpu.md §2-§3)."""

from __future__ import annotations

from typing import Any

from pyinfra import host, logger
from pyinfra.api import OperationError, operation

from facts.gpu import GpuNode, nvml_version
from operations.refusal import refuse

POLICIES = ("fail", "skip", "prepare")


def missing(node: dict[str, Any]) -> list[str]:
    """What keeps a host from being a GPU node at all (no GPU on the bus, no driver loaded)."""
    reasons = []
    if not node.get("pci_devices"):
        reasons.append("no NVIDIA GPU on the PCI bus (no /sys/bus/pci/devices/* with vendor 0x10de, class 0x0300 or 0x0302)")
    if not node.get("driver_loaded"):
        reason = "no NVIDIA driver is loaded (/sys/module/nvidia absent)"
        if node.get("nvidia_smi_error"):
            reason += f"; nvidia-smi says: {node['nvidia_smi_error'].rstrip('.')}"
        reasons.append(reason)
    return reasons


def inconsistencies(node: dict[str, Any], expected_count: int) -> list[str]:
    """Broken rules of a host whose driver is loaded (errors whatever the policy, §2)."""
    problems = []
    if node.get("arch") != "amd64":
        problems.append(f"architecture is {node.get('arch')!r}; the toolkit repository is used for amd64 GPU nodes only")
    if node.get("nouveau_loaded"):
        problems.append("the nouveau module is loaded; blacklist it and reboot")
    if node.get("nvidia_smi_error"):
        problems.append(f"nvidia-smi fails: {node['nvidia_smi_error']}")
    versions = {
        "/sys/module/nvidia/version": node.get("driver_version"),
        "nvidia-smi": ({gpu["driver_version"] for gpu in node.get("gpus", [])} or {None}).pop(),
        "NVML library": nvml_version(node.get("nvml_realpath")),
    }
    if None in versions.values() or len(set(versions.values())) > 1:
        shown = ", ".join(f"{source} {version or 'absent'}" for source, version in versions.items())
        problems.append(f"driver versions differ ({shown}): a driver package was upgraded without a reboot (Driver/library version mismatch)")
    if node.get("gpu_count") != expected_count:
        problems.append(f"nvidia-smi lists {node.get('gpu_count')} GPU(s), gpu_expected_count is {expected_count}")
    return problems


@operation()
def driver(expected_count: int = 1, on_missing: str = "fail"):
    """
    Require a loaded, consistent NVIDIA driver with the expected number of GPUs.

    + expected_count: GPUs that ``nvidia-smi`` must list
    + on_missing: what a host without a GPU or driver does: ``fail`` (this host fails with a
      message naming what is missing), ``skip`` or ``prepare`` (warn; the deploy decides which
      steps still run)

    The driver is installed by the operator, never by this operation. A version mismatch between
    the kernel module, nvidia-smi and the NVML library, a loaded nouveau module or a wrong GPU
    count fail the host whatever ``on_missing`` says.

    **Examples:**

    .. code:: python

        gpu.driver(
            name="Check the NVIDIA driver and GPUs",
            expected_count=1,
            on_missing="fail",
        )
    """
    if on_missing not in POLICIES:
        raise OperationError(f"gpu.driver: on_missing must be one of {', '.join(POLICIES)}, not {on_missing!r}")
    if not isinstance(expected_count, int) or expected_count < 1:
        raise OperationError(f"gpu.driver: expected_count must be a positive integer, not {expected_count!r}")

    node = host.get_fact(GpuNode)
    absent = missing(node)
    if absent:
        what = "; ".join(absent)
        if on_missing == "fail":
            yield refuse(
                f"host is in group gpu but {what}. Install the driver and reboot, "
                "or set gpu_on_missing_driver: skip (or prepare)."
            )
            return
        message = f"host is in group gpu but {what} (gpu_on_missing_driver: {on_missing})"
        logger.warning(f"{host.print_prefix}{message}")
        host.noop(message)
        return

    problems = inconsistencies(node, expected_count)
    if problems:
        yield refuse("NVIDIA driver check failed: " + "; ".join(problems))
        return
    names = ", ".join(gpu["name"] for gpu in node["gpus"])
    host.noop(f"NVIDIA driver {node['driver_version']} is loaded with {node['gpu_count']} GPU(s): {names}")
