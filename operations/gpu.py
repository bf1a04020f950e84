"""Operations for NVIDIA GPU nodes (spec 60-gpu.md §2-§3)."""

from __future__ import annotations

from pyinfra import host, logger
from pyinfra.api import OperationError, operation

from facts.gpu import GpuNode
from goldentooth.gpu import POLICIES, inconsistencies, missing
from operations.refusal import refuse


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
