"""What the GPU facts mean: why a host is not a usable GPU node (spec 60-gpu.md §2-§3).

Pure functions over the `facts.gpu.GpuNode` value, shared by the `gpu.driver` operation and
`goldentooth gpu status`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: gpu_on_missing_driver values: fail the host, skip the GPU host steps, or install toolkit and
#: runtime ahead of the driver (a node being prepared; the lab, which has no GPU).
POLICIES = ("fail", "skip", "prepare")


def nvml_version(realpath: str | None) -> str | None:
    """`/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.575.51.03` -> `575.51.03`."""
    if not realpath or "libnvidia-ml.so." not in realpath:
        return None
    suffix = realpath.rsplit("libnvidia-ml.so.", 1)[-1]
    return suffix if re.fullmatch(r"\d+(\.\d+)+", suffix) else None


def missing(node: Mapping[str, Any]) -> list[str]:
    """What keeps a host from being a GPU node at all (no GPU on the bus, no driver loaded)."""
    reasons = []
    if not node.get("pci_devices"):
        reasons.append("no NVIDIA GPU on the PCI bus (no /sys/bus/pci/devices/* with vendor 0x10de, class 0x0300 or 0x0302)")
    if not node.get("driver_loaded"):
        reason = "no NVIDIA driver is loaded (/sys/module/nvidia absent)"
        if node.get("nvidia_smi_error"):
            reason += f"; nvidia-smi says: {str(node['nvidia_smi_error']).rstrip('.')}"
        reasons.append(reason)
    return reasons


def inconsistencies(node: Mapping[str, Any], expected_count: int | None) -> list[str]:
    """Broken rules of a host whose driver is loaded (errors whatever the policy, §2)."""
    problems = []
    if node.get("arch") != "amd64":
        problems.append(f"architecture is {node.get('arch')!r}; the toolkit repository is used for amd64 GPU nodes only")
    if node.get("nouveau_loaded"):
        problems.append("the nouveau module is loaded; blacklist it and reboot")
    if node.get("nvidia_smi_error"):
        problems.append(f"nvidia-smi fails: {node['nvidia_smi_error']}")
    smi_versions = {gpu["driver_version"] for gpu in node.get("gpus", [])}
    versions = {
        "/sys/module/nvidia/version": node.get("driver_version"),
        "nvidia-smi": smi_versions.pop() if len(smi_versions) == 1 else None,
        "NVML library": nvml_version(node.get("nvml_realpath")),
    }
    if None in versions.values() or len(set(versions.values())) > 1:
        shown = ", ".join(f"{source} {version or 'absent'}" for source, version in versions.items())
        problems.append(f"driver versions differ ({shown}): a driver package was upgraded without a reboot (Driver/library version mismatch)")
    if expected_count is not None and node.get("gpu_count") != expected_count:
        problems.append(f"nvidia-smi lists {node.get('gpu_count')} GPU(s), gpu_expected_count is {expected_count}")
    return problems
